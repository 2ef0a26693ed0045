import { Type, definePlugin } from '@deepstream-ts/core';

/**
 * deepstream-plugin-hello: answers every HTTP method on one path with a greeting and the number of
 * logins so far. Small on purpose: options with a schema, a hook, an HTTP route and a teardown are
 * the parts most plugins are made of.
 */
export default definePlugin({
  // Name, version and kernel range come from package.json (the peer dependency on core).
  package: import.meta.url,
  options: Type.Object({
    greeting: Type.String({ minLength: 1, default: 'hello' }),
    path: Type.String({ pattern: '^/', default: '/hello' }),
  }),
  setup(ctx) {
    let logins = 0;
    // Every tap is named after the plugin: errors and profiles name it.
    ctx.hooks.authenticated.tap(ctx.name, () => {
      logins++;
    });
    // A route answers GET, POST and OPTIONS unless it lists its methods; others get 405.
    ctx.http.add(
      ctx.options.path,
      (request, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ greeting: ctx.options.greeting, method: request.method, logins }));
      },
      { methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
    );
    ctx.onClose(() => ctx.log.info({ logins }, 'goodbye'));
  },
});
