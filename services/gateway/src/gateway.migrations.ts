import { messagingTablesSql, paymentStatesTableSql, sqlMigration } from '@dirigen/persistence';

export const gatewaySchema = 'gateway';

export const gatewayMigrations = [sqlMigration('GatewayInitial1764201600000', [...messagingTablesSql(gatewaySchema), ...paymentStatesTableSql(gatewaySchema)])];
