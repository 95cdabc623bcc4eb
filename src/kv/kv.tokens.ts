import { Inject, InjectionToken } from '@nestjs/common';
import { KV_STORE } from './kv.port';

/** The token of a named conditional store (`forRoot({ name })`); no name = KV_STORE. */
export const getKvStoreToken = (name?: string): InjectionToken =>
  name === undefined ? KV_STORE : `redis-atomic:ConditionalStore:${name}`;

/** `@InjectKvStore()` or `@InjectKvStore('name')`: the ConditionalStore port of that instance. */
export const InjectKvStore = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKvStoreToken(name));
