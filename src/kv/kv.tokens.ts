import { Inject } from '@nestjs/common';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { KV_STORE } from './kv.port';

/** The token of a named conditional store (`forRoot({ name })`); no name = KV_STORE. */
export const getKvStoreToken = instanceTokens(KV_STORE, 'ConditionalStore');

/** `@InjectKvStore()` or `@InjectKvStore('name')`: the ConditionalStore port of that instance. */
export const InjectKvStore = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getKvStoreToken(name));
