export {
  checkFile,
  checkWorkspace,
  listProjects,
  type Project,
  stripComments,
  type Violation,
} from './check.js';
