import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const UNIT_FILE = join(ROOT, 'systemd', 'vega.service');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax as far as this unit uses it: sections, `Key=value` (repeatable), comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      unit[section] ??= {};
      continue;
    }
    const at = line.indexOf('=');
    if (at <= 0 || !section) throw new Error(`unparsable unit line: ${raw}`);
    const key = line.slice(0, at).trim();
    (unit[section][key] ??= []).push(line.slice(at + 1).trim());
  }
  return unit;
}

/** The shell block of the README's "Run as a service" section: the commands an operator runs. */
function readmeServiceCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## Run as a service\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README has no "## Run as a service" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the "Run as a service" section has no ```sh block');
  return block.split('\n').filter((line) => line.trim() !== '');
}

/** The first capture of `pattern` over the README's commands, or a failure naming what was looked for. */
function fromReadme(commands: string[], pattern: RegExp, what: string): string {
  for (const line of commands) {
    const match = pattern.exec(line);
    if (match) return match[1];
  }
  throw new Error(`README's service commands do not show ${what} (${pattern})`);
}

describe('systemd/vega.service', () => {
  const text = readFileSync(UNIT_FILE, 'utf8');
  const unit = parseUnit(text);
  const service = unit.Service;
  const one = (key: string) => {
    expect({ key, values: service[key]?.length ?? 0 }).toEqual({ key, values: 1 });
    return service[key][0];
  };

  it('runs the built entry point with the system Node as the vega user, restarting on failure', () => {
    expect(one('Type')).toBe('simple');
    expect(one('User')).toBe('vega');
    expect(one('Group')).toBe('vega');
    expect(one('Restart')).toBe('on-failure');
    expect(one('EnvironmentFile')).toBe('-/etc/vega/vega.env');
    expect(one('StateDirectory')).toBe('vega');
    expect(service.Environment).toContain('VEGA_DATA_DIR=/var/lib/vega');
    const [node, ...args] = one('ExecStart').split(/\s+/);
    expect(node).toBe('/usr/bin/node');
    const entry = args.pop()!;
    // The entry is what `npm run build` produces, run with the same Node flags as `npm start`.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
    expect(posix.relative(one('WorkingDirectory'), entry)).toBe(pkg.main);
    expect(pkg.scripts.start).toBe(['node', ...args, pkg.main].join(' '));
    expect(args.every((arg) => arg.startsWith('--'))).toBe(true);
    // No watchdog that the process would have to feed, no notify protocol it does not speak.
    expect(service.WatchdogSec).toBeUndefined();
    expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
  });

  it('is hardened without breaking Node', () => {
    const expected: Record<string, string> = {
      NoNewPrivileges: 'true',
      PrivateTmp: 'true',
      ProtectSystem: 'strict',
      ProtectHome: 'true',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      CapabilityBoundingSet: '',
      SystemCallFilter: '@system-service',
      LockPersonality: 'true',
    };
    for (const [key, value] of Object.entries(expected)) expect({ key, value: one(key) }).toEqual({ key, value });
    // V8's JIT needs writable and executable memory.
    expect(service.MemoryDenyWriteExecute).toBeUndefined();
    // The data directory is the only writable path, and it is the state directory.
    expect(service.ReadWritePaths).toEqual([`/var/lib/${one('StateDirectory')}`]);
    // Room for the graceful shutdown (SHUTDOWN_GRACE_SEC defaults to 10 s).
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(10);
  });

  it('installs where the README says', () => {
    const commands = readmeServiceCommands();
    const appDir = fromReadme(commands, /^git archive HEAD \| tar -x -C (\S+)$/, 'where the app is unpacked');
    expect(fromReadme(commands, /^cd (\S+) && npm ci && npm run build/, 'the build')).toBe(appDir);
    expect(one('WorkingDirectory')).toBe(appDir);
    expect(one('ExecStart')).toMatch(new RegExp(`^/usr/bin/node (--\\S+ )*${appDir}/dist/src/main\\.js$`));

    const envFile = fromReadme(commands, /^cat > (\S+) <<'ENV'$/, 'the environment file');
    expect(one('EnvironmentFile')).toBe(`-${envFile}`);
    expect(fromReadme(commands, /^install -d -m 0750 -g \S+ (\S+)$/, 'the settings directory')).toBe(posix.dirname(envFile));
    // The unit sets the data directory; the env file (read after Environment=) must not move it.
    const envStart = commands.findIndex((line) => line.startsWith(`cat > ${envFile}`));
    const envEnd = commands.indexOf('ENV', envStart);
    expect(commands.slice(envStart + 1, envEnd).filter((line) => /^\s*VEGA_DATA_DIR=/.test(line))).toEqual([]);

    const user = fromReadme(commands, /^useradd --system .* (\S+)$/, 'the service user');
    expect(one('User')).toBe(user);
    expect(fromReadme(commands, /^useradd --system --home-dir (\S+) /, 'the home directory')).toBe(`/var/lib/${one('StateDirectory')}`);
    expect(fromReadme(commands, /^chown root:(\S+) /, 'the env file group')).toBe(one('Group'));

    const [source, target] = fromReadme(commands, /^install -m 0644 (\S+ \S+)$/, 'the unit install').split(' ');
    expect(source).toBe('systemd/vega.service');
    expect(existsSync(join(ROOT, source))).toBe(true);
    expect(target).toBe('/etc/systemd/system/vega.service');
    expect(commands).toContain(`systemctl enable --now ${posix.basename(target, '.service')}`);
  });

  const analyze = existsSync(SYSTEMD_ANALYZE) ? it : it.skip;
  if (!existsSync(SYSTEMD_ANALYZE)) {
    if (process.env.VEGA_REQUIRE_SYSTEMD_ANALYZE) {
      it('needs systemd-analyze', () => {
        throw new Error(`${SYSTEMD_ANALYZE} is missing (apt-get install systemd); VEGA_REQUIRE_SYSTEMD_ANALYZE is set`);
      });
    } else process.stderr.write(`Skipping systemd-analyze verify: ${SYSTEMD_ANALYZE} is missing (apt-get install systemd)\n`);
  }

  analyze('passes systemd-analyze verify without a warning', () => {
    // verify checks that ExecStart's binary exists: that is this machine's Node only where it is /usr/bin/node.
    expect(existsSync('/usr/bin/node')).toBe(true);
    const result = spawnSync(SYSTEMD_ANALYZE, ['verify', UNIT_FILE], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: result.status, stderr: result.stderr, stdout: result.stdout }).toEqual({ status: 0, stderr: '', stdout: '' });
  });

  analyze('keeps a low exposure score in systemd-analyze security', () => {
    const result = spawnSync(SYSTEMD_ANALYZE, ['security', '--offline=true', '--no-pager', UNIT_FILE], { encoding: 'utf8', timeout: 60_000 });
    const score = /Overall exposure level for vega\.service: ([\d.]+)/.exec(result.stdout)?.[1];
    expect(score).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(3);
  });
});

describe('systemd/vega@.service (one instance per port)', () => {
  const TEMPLATE = join(ROOT, 'systemd', 'vega@.service');
  const template = parseUnit(readFileSync(TEMPLATE, 'utf8'));
  const single = parseUnit(readFileSync(UNIT_FILE, 'utf8'));
  /** What differs from vega.service, by design: the instance's port, data directory and settings file, and the reload. */
  const PER_INSTANCE = ['EnvironmentFile', 'StateDirectory', 'Environment', 'ReadWritePaths', 'ExecReload'];

  it("runs like vega.service, with the port, data directory and settings file named after the instance", () => {
    const service = template.Service;
    expect(service.Environment).toEqual(['VEGA_DATA_DIR=/var/lib/vega/%i', 'PORT=%i', 'NODE_ENV=production']);
    expect(service.StateDirectory).toEqual(['vega/%i']);
    expect(service.ReadWritePaths).toEqual(['/var/lib/vega/%i']);
    // The shared settings first, the instance's own after: its values win.
    expect(service.EnvironmentFile).toEqual(['-/etc/vega/vega.env', '-/etc/vega/vega-%i.env']);
    // `systemctl reload` sends SIGHUP: the server reads BACKENDS_FILE again.
    expect(service.ExecReload).toEqual(['/bin/kill -HUP $MAINPID']);
    const same = (unit: Unit) => Object.fromEntries(Object.entries(unit.Service).filter(([key]) => !PER_INSTANCE.includes(key)));
    expect(same(template)).toEqual(same(single));
    expect(template.Install).toEqual(single.Install);
  });

  const analyze = existsSync(SYSTEMD_ANALYZE) ? it : it.skip;
  /** An instance of the template (`vega@8001.service`), as systemd loads it. */
  const instance = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'vega-unit-'));
    const file = join(dir, 'vega@8001.service');
    copyFileSync(TEMPLATE, file);
    return file;
  };

  analyze('passes systemd-analyze verify without a warning, as an instance', () => {
    const file = instance();
    try {
      const result = spawnSync(SYSTEMD_ANALYZE, ['verify', file], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: result.status, stderr: result.stderr, stdout: result.stdout }).toEqual({ status: 0, stderr: '', stdout: '' });
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  analyze('keeps the same low exposure score in systemd-analyze security', () => {
    const file = instance();
    try {
      const result = spawnSync(SYSTEMD_ANALYZE, ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8', timeout: 60_000 });
      const score = /Overall exposure level for vega@8001\.service: ([\d.]+)/.exec(result.stdout)?.[1];
      expect(score).toBeDefined();
      expect(Number(score)).toBeLessThanOrEqual(3);
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });
});
