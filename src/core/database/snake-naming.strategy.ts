import { DefaultNamingStrategy, type NamingStrategyInterface } from 'typeorm';

/** Property `tenantId` is column `tenant_id`; explicit names in decorators still win. */
export class SnakeNamingStrategy extends DefaultNamingStrategy implements NamingStrategyInterface {
  override columnName(
    propertyName: string,
    customName: string | undefined,
    prefixes: string[],
  ): string {
    const name = customName ?? propertyName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    return prefixes.length > 0 ? `${prefixes.join('_')}_${name}` : name;
  }
}
