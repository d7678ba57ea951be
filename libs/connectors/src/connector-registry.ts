import { ConnectorError, type PaymentConnector } from './connector';
import { StripeConnector, type StripeConnectorOptions } from './stripe/stripe.connector';

/** Each connector's configuration, by connector name. A new PSP adds one entry here and one case below. */
export interface ConnectorConfigs {
  stripe: StripeConnectorOptions;
}

export type ConnectorName = keyof ConnectorConfigs;

export const connectorNames: readonly ConnectorName[] = ['stripe'];

export function isConnectorName(name: string): name is ConnectorName {
  return (connectorNames as readonly string[]).includes(name);
}

/**
 * Builds a connector by name. Names often come from configuration, so an unknown one is
 * refused with `unsupported` at runtime rather than trusted from the type.
 */
export function createConnector<Name extends ConnectorName>(name: Name, config: ConnectorConfigs[Name]): PaymentConnector {
  const requested: string = name;
  if (!isConnectorName(requested)) throw new ConnectorError('unsupported', requested, `no connector named ${requested}`);
  switch (name) {
    case 'stripe':
      return new StripeConnector(config);
    default:
      throw new ConnectorError('unsupported', requested, `no connector named ${requested}`);
  }
}
