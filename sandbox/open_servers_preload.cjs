'use strict';
// Loaded by `node --require` before each test file of a Node run in the sandbox: a server the test
// file leaves listening does not keep its process alive.
//
// node:test runs each test file in its own process, which ends only when nothing is left to wait for.
// A test that starts the program's server and never closes it (or code whose createServer() also
// listens on a fixed port) leaves a listening socket, so the process never ends, the run is killed at
// its time limit with no result for any test, and "ran out of time" says nothing of what failed. With
// every listening server and its accepted connections unreferenced, the process ends once the tests
// have (a request in flight still holds it: the client's socket is referenced), and each test's own
// result is reported.
//
// The sandbox adds this file beside the program-runs preload, outside the files the agent wrote. The
// test runner's own process loads it too and is left alone (node:test sets NODE_TEST_CONTEXT only in
// the processes that run test files).

if (process.env.NODE_TEST_CONTEXT) {
  const net = require('node:net');
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    const listening = listen.apply(this, args);
    this.unref();
    this.on('connection', (socket) => socket.unref());
    return listening;
  };
}
