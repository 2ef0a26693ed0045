/**
 * @deepstream-ts/core: the kernel's public API. Plugins and connectors import everything from
 * here; nothing else in `src/` is public.
 */
export { Kernel, startServer, type KernelOptions } from './kernel.ts';
export { KERNEL_VERSION } from './version.ts';
export { defineConfig, resolveConfig, loadTlsMaterial, DEFAULT_CONNECTION_OPTIONS } from './config/options.ts';
export type { DeepstreamConfig, ResolvedConfig, ConnectionOptions, TlsMaterial } from './config/options.ts';
export type { LoginBackoffOptions, ConnectionConfig } from './config/options.ts';
export { loadConfig, migrateConfig, type LoadedConfig } from './config/load.ts';
export { defineConfigFormat, type ConfigFormat, type ForeignConfig, type TranslatedConfig } from './config/formats.ts';
export { substituteVariables, variablesIn, MissingVariableError } from './config/variables.ts';
export { definePlugin } from './plugins/manifest.ts';
export type { PluginManifest, PluginEntry, PluginWithOptions, DefinedPlugin, OptionsInput, PluginCommand, CommandInvocation } from './plugins/manifest.ts';
// Options schemas: plugins depend on core alone, and every plugin uses the same TypeBox.
export { Type } from './util/typebox.ts';
export type { Static, TObject, TSchema } from '@sinclair/typebox';
export { optionDefaults } from './plugins/options-schema.ts';
export { invalidOptions } from './plugins/plugin-options.ts';
export type { PluginContext, PluginHttp } from './plugins/context.ts';
export { ALLOWED, CHECK_FAILED, type TopicAccess, type Admission, type Permission, type Permissions, type PermissionRule } from './permissions.ts';
export { countAuthenticationStrategies } from './hooks.ts';
export type {
  KernelHooks,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationRequest,
  AuthorizationVerdict,
  AuthorizationFacts,
  HookFailure,
} from './hooks.ts';
export type { TopicHandler } from './router.ts';
export type { Services, RecordReader, SubscriptionFeed } from './services.ts';
export { ConnectorError, withDeadline } from './connectors/records.ts';
export { PendingWrites, type PendingState, type WriteBatch } from './connectors/pending-writes.ts';
export type { RecordStorage, RecordCache, StoredRecord, RecordData, ConnectorCapabilities, ConnectorErrorKind } from './connectors/records.ts';
export { DeepstreamError, ERROR_CODES, isDeepstreamError, type ErrorCode } from './errors.ts';
export { Session } from './session/session.ts';
export type { LoginResult, BackoffRefusal } from './session/login-guard.ts';
export type { Connection, ConnectionInfo, Transport, TransportHost, TransportFactory, UpgradeHandler } from './transport/transport.ts';
export { clientAddress } from './transport/client-address.ts';
export { binaryCodec, clusterCodec, SharedMessage, type Codec } from './protocol/codec.ts';
export * from './protocol/messages.ts';
export { denialFor } from './protocol/denials.ts';
export type { ClusterBus, ClusterHandler, MembershipHandler } from './cluster/bus.ts';
export { ReplicatedSet, type ReplicatedSetWatcher } from './cluster/replicated-set.ts';
export { ClusterNode, type ClusterTransport, type ClusterTransportService, type ClusterTiming } from './cluster/node.ts';
export { SubscriptionRegistry, type SubscriptionObserver, type SubscribeOutcome, type SubscriptionRegistryOptions, type TopicListenerHandler, type ListeningService } from './util/subscriptions.ts';
export { Inspection, type GaugeReading, type GaugeSample, type SessionNames, type NamesOfSession } from './util/inspection.ts';
export { HttpRoutes, sendText, type HttpHandler, type HttpRouteOptions } from './http/routes.ts';
export { redactUrl } from './util/redact.ts';
export { fnv1a } from './util/hash.ts';
export { createLogger, type Logger } from './logger.ts';
