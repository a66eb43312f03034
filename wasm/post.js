// Appended inside the module factory: lets the loader stop the pthread workers (rt.dispose()) and
// keep them from holding a Node process open. No-ops in the single-threaded variant.
Module['wispTerminateWorkers'] = function() {
  if (typeof PThread != 'undefined') PThread.terminateAllThreads();
};
Module['wispUnrefWorkers'] = function() {
  if (typeof PThread == 'undefined') return;
  PThread.unusedWorkers.concat(PThread.runningWorkers).forEach(function(w) {
    if (w && typeof w.unref == 'function') w.unref();
  });
};
