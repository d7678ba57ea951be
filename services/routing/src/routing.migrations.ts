import { messagingTablesSql, paymentStatesTableSql, sqlMigration } from '@dirigen/persistence';

export const routingSchema = 'routing';

export const routingMigrations = [
  sqlMigration('RoutingInitial1764201600000', [
    ...messagingTablesSql(routingSchema),
    ...paymentStatesTableSql(routingSchema),
    `CREATE TABLE routing.connector_routes (
       merchant_id text NOT NULL,
       connector text NOT NULL,
       priority integer NOT NULL,
       enabled boolean NOT NULL DEFAULT true,
       currencies text[] NOT NULL DEFAULT '{}',
       methods text[] NOT NULL,
       PRIMARY KEY (merchant_id, connector)
     )`,
  ]),
];

/** A new merchant routes cards to the Stripe connector first. */
export const merchantDefaultsSql = `INSERT INTO routing.connector_routes (merchant_id, connector, priority, enabled, currencies, methods)
  VALUES ($1, 'stripe', 1, true, '{}', '{card}') ON CONFLICT DO NOTHING`;
