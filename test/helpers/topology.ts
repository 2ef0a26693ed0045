/**
 * Which topology `startTestServer` runs this process's suites on (scripts/test.sh, core README
 * "Testing"), for the few tests that must know: a skip reason, or a bound a cluster widens.
 */
export const clustered = /cluster/.test(process.env.DS_TEST_TOPOLOGY ?? '');
