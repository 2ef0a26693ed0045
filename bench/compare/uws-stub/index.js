'use strict';
// Stub for uWebSockets.js (see package.json). deepstream loads it only when configured for the
// uws transports, which the benchmark never does.
throw new Error('uWebSockets.js is a stub in bench/compare: configure deepstream with the ws-based transport');
