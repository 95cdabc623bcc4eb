import { ATOMIC_STRATEGIES } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';

/** The body of GET /health (documentation only). */
export class FunctionLibraryStatus {
  @ApiField({ type: 'string' }) library!: string;
  @ApiField({ type: 'string', nullable: true, description: 'The version loaded on the server; null when not loaded' }) version!: string | null;
  @ApiField({ type: 'string', description: 'The version this build ships' }) expected!: string;
}

@ApiModels(FunctionLibraryStatus)
export class HealthResponse {
  @ApiField({ type: 'string', enum: ['ok', 'unavailable'] }) status!: string;
  @ApiField({ type: 'string', enum: ['memory', 'redis'] }) store!: string;
  @ApiField({ type: 'string', enum: [...ATOMIC_STRATEGIES] }) strategy!: string;
  @ApiField({ type: 'array', items: schemaRef(FunctionLibraryStatus), required: false, description: 'functions strategy: each Lua library' })
  functions?: FunctionLibraryStatus[];
  @ApiField({ type: 'string', required: false, description: 'Why Redis is unavailable' }) error?: string;
}
