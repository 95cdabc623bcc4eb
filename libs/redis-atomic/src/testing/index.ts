export * from './keyspace';
export * from './redis-server';
