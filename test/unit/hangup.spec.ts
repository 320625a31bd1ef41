import { hangupMeaning } from '../../src/common/lifecycle/hangup';

describe(hangupMeaning.name, () => {
  const terminalOn = (...fds: number[]) => (fd: number) => fds.includes(fd);

  it('means the terminal went away (a graceful stop) when stdin or stdout is a TTY', () => {
    expect(hangupMeaning(terminalOn(0, 1, 2))).toBe('shutdown');
    expect(hangupMeaning(terminalOn(0))).toBe('shutdown'); // stdout piped to a log: `vega serve | tee log`
    expect(hangupMeaning(terminalOn(1))).toBe('shutdown'); // stdin from /dev/null, still on the terminal
  });

  it('means reload without a terminal (systemd, containers), even when only stderr is one', () => {
    expect(hangupMeaning(terminalOn())).toBe('reload');
    expect(hangupMeaning(terminalOn(2))).toBe('reload');
  });
});
