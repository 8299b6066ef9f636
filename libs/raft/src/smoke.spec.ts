import { Cluster } from './testing/index.js';

test('smoke', () => {
  const c = new Cluster({ voters: [1, 2, 3] });
  c.elect(1);
  c.propose(1, 'a');
  c.stabilize();
  for (const id of [1, 2, 3]) expect(c.get(id).commands).toEqual(['a']);
  console.log(c.status(1));
});
