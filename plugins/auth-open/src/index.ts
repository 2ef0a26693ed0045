import { Type, definePlugin } from '@deepstream-ts/core';

/**
 * Open authentication (SECURITY §2.1): everyone gets in. The user id is the `username` from the
 * login data when there is one, else `open`. Put stricter strategies before it in `plugins`
 * (the first definite answer wins), or leave it out in production.
 */
export const authOpen = definePlugin({
  package: import.meta.url,
  options: Type.Object({}), // none: any option given is a mistake
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      const username = Array.isArray(authData) ? undefined : (authData as Record<string, unknown>).username;
      return { isValid: true, id: username ? String(username) : 'open' };
    });
  },
});

export default authOpen;
