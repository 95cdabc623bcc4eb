import { failedToStart, serve } from './serve';

// `npm start` (the repository's service); the installed package runs the same through `redis-atomic serve`.
serve().catch(failedToStart);
