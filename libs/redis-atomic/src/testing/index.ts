export * from './keyspace';
export * from './redis-cluster';
export * from './redis-server';
