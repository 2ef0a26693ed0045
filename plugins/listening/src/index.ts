import { definePlugin } from '@deepstream-ts/core';
import { EVENT_LISTEN_ACTIONS, RECORD_LISTEN_ACTIONS } from './actions.ts';
import { LISTENING_OPTIONS, type ListeningOptions } from './options.ts';
import { TopicListeners } from './topic-listeners.ts';

/**
 * Listening (RECORDS §11): backend providers are told when anyone subscribes to names matching
 * their pattern, and exactly one of them becomes the active provider of each name. Provides the
 * `listening` service; the events and records plugins use it when it is configured.
 */
export const listening = definePlugin<ListeningOptions>({
  package: import.meta.url,
  provides: ['listening'],
  options: LISTENING_OPTIONS,
  setup(ctx) {
    const registries: TopicListeners[] = [];
    const cluster = ctx.use('cluster');
    const inspection = ctx.use('inspection');
    ctx.provide('listening', {
      forTopic(topic, subscriptions) {
        const registry = new TopicListeners(topic === 'event' ? EVENT_LISTEN_ACTIONS : RECORD_LISTEN_ACTIONS, subscriptions, ctx, cluster);
        registries.push(registry);
        const labels = { topic };
        ctx.onClose(
          inspection.addGauges(
            { name: 'listen_patterns', help: 'Listen patterns registered on this node, by topic', labels, read: () => registry.stats.patterns },
            { name: 'listen_sessions', help: 'Sessions on this node listening to at least one pattern, by topic', labels, read: () => registry.stats.sessions },
            { name: 'listen_active_providers', help: 'Names with an active listen provider on this node, by topic', labels, read: () => registry.stats.providers },
          ),
        );
        ctx.onClose(inspection.addSessionNames(`${topic} listens`, (session) => registry.patternsOf(session)));
        return registry;
      },
    });
    ctx.hooks.disconnect.tap(ctx.name, (session) => {
      for (const registry of registries) registry.forget(session);
    });
    ctx.onClose(() => {
      for (const registry of registries) registry.close();
    });
  },
});

export default listening;
export { TopicListeners, type ListeningOptions };
export { compilePattern, backtrackingRisk } from './patterns.ts';
