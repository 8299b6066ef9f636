// Module boundary rules, driven by the Nx tags in each project's package.json ("nx": { "tags": [...] }):
//   scope:core   (libs/raft, libs/controller, libs/election) — pure: may import only scope:core / scope:proto projects
//                and pure packages; no node:* or Node built-ins, no Connect transports, no NATS, no logging/metrics
//                packages; and no timers, Date, Math.random or async code outside tests.
//   scope:proto  — may import only @bufbuild/* and @connectrpc/connect.
//   any lib      — may not import an app or a tool.
//   type:app     — may not import another app.
// Spec files (*.spec.ts) are exempt from the purity rules (they may use fs or timers), not from the import rules
// between projects.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

export interface Project {
  readonly name: string;
  readonly root: string;
  readonly tags: readonly string[];
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly message: string;
}

const BUILTINS = new Set(builtinModules);
const CORE_FORBIDDEN_PACKAGES = [
  /^@connectrpc\/connect-node/,
  /^@nats-io\//,
  /^nats$/,
  /^pino/,
  /^prom-client/,
  /^tsx/,
];
const CORE_FORBIDDEN_CALLS: readonly [RegExp, string][] = [
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew Date\s*\(/, 'new Date()'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bprocess\./, 'process.*'],
  [/\basync\s+(function\b|\(|[A-Za-z_$][\w$]*\s*(\(|=>))/, 'async code'],
  [/\bawait\s/, 'await'],
];

const IMPORT_RE =
  /(?:^|\s|;)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

export function listProjects(root: string): Project[] {
  const projects: Project[] = [];
  for (const dir of ['apps', 'libs', 'tools']) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const pkgFile = join(root, dir, entry, 'package.json');
      try {
        const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name: string; nx?: { tags?: string[] } };
        projects.push({ name: pkg.name, root: join(dir, entry), tags: pkg.nx?.tags ?? [] });
      } catch {
        // not a project
      }
    }
  }
  return projects;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name === 'gen' || name === 'node_modules' || name === 'dist') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    // no src folder
  }
  return out;
}

/** Blanks out comments and string contents (keeping line breaks and import specifiers) so regexes see code only. */
export function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function packageOf(specifier: string): string {
  if (specifier.startsWith('@')) return specifier.split('/').slice(0, 2).join('/');
  return specifier.split('/')[0]!;
}

export function checkFile(
  file: string,
  text: string,
  project: Project,
  byName: ReadonlyMap<string, Project>,
): Violation[] {
  const violations: Violation[] = [];
  const code = stripComments(text);
  const isSpec = /\.spec\.ts$/.test(file);
  const lineOf = (index: number): number => code.slice(0, index).split('\n').length;
  const add = (index: number, rule: string, message: string): void => {
    violations.push({ file, line: lineOf(index), rule, message });
  };
  const core = project.tags.includes('scope:core');
  const proto = project.tags.includes('scope:proto');
  const isLib = project.root.startsWith('libs/');
  const isApp = project.tags.includes('type:app');
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec === undefined || spec.startsWith('.')) continue;
    const pkg = packageOf(spec);
    const target = byName.get(pkg);
    const index = m.index ?? 0;
    if (target !== undefined && target.name !== project.name) {
      if (isLib && (target.tags.includes('type:app') || target.tags.includes('type:tool'))) {
        add(
          index,
          'lib-imports-app',
          `${project.name} imports ${target.name} (libs may not import apps or tools)`,
        );
      }
      if (isApp && target.tags.includes('type:app')) {
        add(index, 'app-imports-app', `${project.name} imports app ${target.name}`);
      }
      if (core && !isSpec && !target.tags.some((t) => t === 'scope:core' || t === 'scope:proto')) {
        add(
          index,
          'core-imports-io',
          `${project.name} (scope:core) imports ${target.name} (${target.tags.join(',')})`,
        );
      }
    }
    if (isSpec) continue;
    const builtin = spec.startsWith('node:') || BUILTINS.has(pkg);
    if ((core || proto) && builtin)
      add(index, 'core-imports-node', `${project.name} imports Node built-in ${spec}`);
    if (core && CORE_FORBIDDEN_PACKAGES.some((re) => re.test(spec))) {
      add(index, 'core-imports-io', `${project.name} imports I/O package ${spec}`);
    }
    if (proto && target === undefined && !builtin && !/^@bufbuild\/|^@connectrpc\/connect$/.test(spec)) {
      add(index, 'proto-imports', `${project.name} imports ${spec}`);
    }
  }
  if (core && !isSpec) {
    for (const [re, what] of CORE_FORBIDDEN_CALLS) {
      const global = new RegExp(re.source, 'g');
      for (const m of code.matchAll(global)) add(m.index ?? 0, 'core-impure', `${project.name} uses ${what}`);
    }
  }
  return violations;
}

export function checkWorkspace(root: string): Violation[] {
  const projects = listProjects(root);
  const byName = new Map(projects.map((p) => [p.name, p]));
  const violations: Violation[] = [];
  for (const project of projects) {
    for (const file of sourceFiles(join(root, project.root, 'src'))) {
      violations.push(...checkFile(relative(root, file), readFileSync(file, 'utf8'), project, byName));
    }
  }
  return violations;
}
