import { ID_PATTERN } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';
import { MAX_LOW_STOCK_PAGE, MAX_STOCK } from '../inventory-rules';

/** The success bodies of the Inventory routes (documentation only). */
export class StockLevelResponse {
  @ApiField({ type: 'string', pattern: ID_PATTERN.source }) productId!: string;
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX_STOCK }) stock!: number;
}

@ApiModels(StockLevelResponse)
export class LowStockResponse {
  @ApiField({ type: 'array', items: schemaRef(StockLevelResponse), maxItems: MAX_LOW_STOCK_PAGE, description: 'Lowest stock first, ties by product id' })
  products!: StockLevelResponse[];
}
