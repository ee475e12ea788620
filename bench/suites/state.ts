export const stateSuites: import("../harness.js").Suite[] = []
