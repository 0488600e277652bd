#!/usr/bin/env node
// codexport's npm entry point: runs the native binary of this platform's package
// (`@codexport/<os>-<cpu>`, an optional dependency npm installs only where it fits) with this
// process's arguments, stdio and environment, forwards SIGINT/SIGTERM/SIGHUP to it, and exits
// as it did: its code, or 128+N when signal N ended it. `CODEXPORT_BINARY` names another binary.
// Node has no stable exec(), so the binary runs as a child (process.execve is experimental and
// warns on stderr).
'use strict';

const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const path = require('node:path');

const { version } = require('../package.json');

// process.platform + process.arch -> the package that ships that binary.
const PLATFORMS = {
  'linux-x64': '@codexport/linux-x64',
  'linux-arm64': '@codexport/linux-arm64',
  'win32-x64': '@codexport/win32-x64',
};

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function binaryPath() {
  const override = process.env.CODEXPORT_BINARY;
  if (override) return override;
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PLATFORMS[platform];
  if (!pkg) {
    fail(
      `codexport ships no binary for \`${platform}\` (only ${Object.keys(PLATFORMS).join(', ')}); ` +
        'build it from source: `cargo install codexport`',
    );
  }
  let root;
  try {
    root = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    fail(
      `the platform package \`${pkg}\` is not installed (npm left out the optional dependency); ` +
        `reinstall: \`npm install codexport@${version} --include=optional\``,
    );
  }
  return path.join(root, 'bin', process.platform === 'win32' ? 'codexport.exe' : 'codexport');
}

const binary = binaryPath();
let child = null;

// Ctrl-C in a terminal reaches the child through its process group already; a signal sent to
// this process alone (kill, a supervisor) must reach it too. The handlers come first: the
// child may be running (and its parent signalled) before spawn() returns.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });

child.on('error', (err) => fail(`cannot run \`${binary}\`: ${err.message}`));
child.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] || 0) : code);
});
