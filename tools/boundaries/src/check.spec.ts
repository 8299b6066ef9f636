import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFile, checkWorkspace, type Project } from './check.js';

const core: Project = { name: '@regent/raft', root: 'libs/raft', tags: ['scope:core'] };
const io: Project = { name: '@regent/raft-storage', root: 'libs/raft-storage', tags: ['scope:io'] };
const app: Project = { name: '@regent/consensus', root: 'apps/consensus', tags: ['type:app'] };
const app2: Project = { name: '@regent/broker-gateway', root: 'apps/broker-gateway', tags: ['type:app'] };
const proto: Project = { name: '@regent/proto', root: 'libs/proto', tags: ['scope:proto'] };
const byName = new Map([core, io, app, app2, proto].map((p) => [p.name, p]));

const rules = (file: string, text: string, project: Project): string[] =>
  checkFile(file, text, project, byName).map((v) => v.rule);

describe('boundary rules', () => {
  it('forbids Node built-ins, I/O packages and impure calls in core libs', () => {
    expect(rules('a.ts', "import { readFileSync } from 'node:fs';", core)).toEqual(['core-imports-node']);
    expect(rules('a.ts', "import fs from 'fs';", core)).toEqual(['core-imports-node']);
    expect(rules('a.ts', "import { connect } from '@nats-io/transport-node';", core)).toEqual([
      'core-imports-io',
    ]);
    expect(rules('a.ts', "import { x } from '@connectrpc/connect-node';", core)).toEqual(['core-imports-io']);
    expect(rules('a.ts', "import { x } from '@regent/raft-storage';", core)).toEqual(['core-imports-io']);
    expect(rules('a.ts', 'const t = Date.now();', core)).toEqual(['core-impure']);
    expect(rules('a.ts', 'const r = Math.random();', core)).toEqual(['core-impure']);
    expect(rules('a.ts', 'setTimeout(f, 1);', core)).toEqual(['core-impure']);
    expect(rules('a.ts', 'export async function f() {}', core)).toEqual(['core-impure']);
    expect(rules('a.ts', '// Date.now() in a comment is fine\nconst x = 1;', core)).toEqual([]);
    expect(
      rules('a.ts', "import { create } from '@bufbuild/protobuf';\nimport { x } from '@regent/proto';", core),
    ).toEqual([]);
  });

  it('lets spec files of core libs use Node APIs but not import apps', () => {
    expect(rules('a.spec.ts', "import { readFileSync } from 'node:fs';\nsetTimeout(f, 1);", core)).toEqual(
      [],
    );
    expect(rules('a.spec.ts', "import { x } from '@regent/consensus';", core)).toEqual(['lib-imports-app']);
  });

  it('forbids an app importing another app', () => {
    expect(rules('main.ts', "import { x } from '@regent/broker-gateway';", app)).toEqual(['app-imports-app']);
    expect(rules('main.ts', "import { x } from '@regent/raft-storage';\nimport 'node:fs';", app)).toEqual([]);
  });

  it('keeps the proto lib to protobuf and connect', () => {
    expect(rules('a.ts', "import { Code } from '@connectrpc/connect';", proto)).toEqual([]);
    expect(rules('a.ts', "import pino from 'pino';", proto)).toEqual(['proto-imports']);
  });

  it('finds no violation in this workspace', () => {
    const violations = checkWorkspace(resolve(import.meta.dirname, '..', '..', '..'));
    expect(violations).toEqual([]);
  });
});
