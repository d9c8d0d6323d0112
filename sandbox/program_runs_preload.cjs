'use strict';
// Loaded by `node --require` before each test file of a Node run in the sandbox: under each failing
// test's error, what the program it ran did.
//
// A failed assertion shows the values it compared ('' !== 'value1'), not the runs that led to it: that
// `get key1` exited 0 with nothing on stdout and "Key key1 not found" on stderr, right after `set key1
// value1` succeeded. Those runs are what a person reads first, and what the reflector needs to name the
// failing behaviour rather than guess at the test. This file records each spawnSync and execFileSync a
// test makes and, when the test fails, appends the last runs to its error's message under a
// "program runs" header (sandbox/reports.py reads the section back, as it does pytest's).
//
// The sandbox adds this file to the workspace it runs, outside the files the agent wrote and the safety
// gate scans: it starts no process of its own. The test runner's own process loads it too and is left
// alone (node:test sets NODE_TEST_CONTEXT only in the processes that run test files).

if (process.env.NODE_TEST_CONTEXT) {
  const Module = require('node:module');
  const path = require('node:path');
  const childProcess = require('node:child_process');

  const PROGRAM_RUNS = 'program runs'; // the section's title (the same in sandbox/program_runs.py)
  const SHOWN_RUNS = 4; // the last runs of a failing test
  const SHOWN_OUTPUT = 200; // characters of each stream

  let runs = [];

  // A stream's start, or for stderr its end: an error ends the stream (a stack's last line is its message).
  const shown = (value, end = false) => {
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value ?? '');
    if (text.length <= SHOWN_OUTPUT) return JSON.stringify(text);
    return JSON.stringify(end ? `...${text.slice(-SHOWN_OUTPUT)}` : `${text.slice(0, SHOWN_OUTPUT)}...`);
  };

  // `kv.js get key1 -> exit 0, stdout "", stderr "Key key1 not found\n"` (the interpreter left out).
  const described = (run) => {
    let words = [run.file, ...run.args].map(String);
    if (words.length > 1 && path.basename(words[0]).startsWith('node')) {
      words = [path.basename(words[1]), ...words.slice(2)];
    }
    const ended = run.status === null && run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
    const stderr = run.stderr === undefined ? '' : `, stderr ${shown(run.stderr, true)}`;
    return `${words.join(' ')} -> ${ended}, stdout ${shown(run.stdout)}${stderr}`;
  };

  const argList = (args) => (Array.isArray(args) ? args : []);

  const spawnSync = childProcess.spawnSync;
  childProcess.spawnSync = function (file, args, ...rest) {
    const result = spawnSync.call(this, file, args, ...rest);
    const { status, signal, stdout, stderr } = result;
    runs.push({ file, args: argList(args), status, signal, stdout, stderr });
    return result;
  };

  const execFileSync = childProcess.execFileSync;
  childProcess.execFileSync = function (file, args, ...rest) {
    try {
      const stdout = execFileSync.call(this, file, args, ...rest);
      runs.push({ file, args: argList(args), status: 0, signal: null, stdout, stderr: undefined });
      return stdout;
    } catch (error) {
      const { status, signal, stdout, stderr } = error;
      runs.push({ file, args: argList(args), status: status ?? null, signal, stdout, stderr });
      throw error;
    }
  };

  const withRuns = (error) => {
    if (runs.length && error instanceof Error) {
      const lines = runs.slice(-SHOWN_RUNS).map(described).join('\n');
      error.message += `\n\n-------- ${PROGRAM_RUNS} --------\n${lines}`;
    }
    return error;
  };

  // A test's function, recording from its start; a test written with a `done` callback keeps its own.
  const recording = (fn) => {
    if (typeof fn !== 'function' || fn.length > 1) return fn;
    return function (context) {
      runs = [];
      let outcome;
      try {
        outcome = fn.call(this, context);
      } catch (error) {
        throw withRuns(error);
      }
      if (outcome && typeof outcome.then === 'function') {
        return outcome.then(undefined, (error) => {
          throw withRuns(error);
        });
      }
      return outcome;
    };
  };

  // `test(name, options, fn)` and `it(...)` with their function recording.
  const registering = (register) =>
    function (...args) {
      if (args.length) args[args.length - 1] = recording(args[args.length - 1]);
      return register.apply(this, args);
    };

  let nodeTest;
  const load = Module._load;
  Module._load = function (request, ...rest) {
    const loaded = load.call(this, request, ...rest);
    if (request !== 'node:test') return loaded;
    if (!nodeTest) {
      const test = registering(loaded);
      const it = registering(loaded.it);
      nodeTest = new Proxy(loaded, {
        apply: (target, self, args) => test.apply(self, args),
        get: (target, key) => (key === 'test' ? nodeTest : key === 'it' ? it : target[key]),
      });
    }
    return nodeTest;
  };
}
