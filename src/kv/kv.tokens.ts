import { Inject } from '@nestjs/common';
import type { ShardDirectory } from '@kernel/core';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { KV_STORE, ConditionalStore } from './kv.port';

/** The token of a named conditional store (`forRoot({ name })`); no name = KV_STORE. */
export const getKvStoreToken = instanceTokens(KV_STORE, 'ConditionalStore');

/** `@InjectKvStore()` or `@InjectKvStore('name')`: the ConditionalStore port of that instance. */
export const InjectKvStore = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKvStoreToken(name));

/** Every kv namespace of an instance, by name: `namespaces.shard('tenant-1').transaction(…)`. */
export type KvNamespaces = ShardDirectory<ConditionalStore>;

export const KV_NAMESPACES = Symbol('KV_NAMESPACES');

/** The token of an instance's KvNamespaces directory; no name = KV_NAMESPACES. */
export const getKvNamespacesToken = instanceTokens(KV_NAMESPACES, 'KvNamespaces');

/** `@InjectKvNamespaces()` or `@InjectKvNamespaces('name')`: every shard of that instance, by name. */
export const InjectKvNamespaces = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKvNamespacesToken(name));
