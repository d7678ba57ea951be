import { Module } from '@nestjs/common';
import { routeByPriority } from '@dirigen/routing-rules';
import { paymentConsumerProvider, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { MerchantRoutings } from './merchant-routing';
import { routingSchema } from './routing.migrations';

export const config = readPlatformConfig('routing', 8380);

@Module({
  imports: [PlatformModule.forRoot({ config, schema: routingSchema })],
  providers: [
    paymentConsumerProvider({
      config,
      groupId: 'routing',
      schema: routingSchema,
      // Routes every payment that risk let through, by the merchant's connector priority list.
      define: () => {
        const routings = new MerchantRoutings();
        return {
          folds: new Set(['payment.requested', 'payment.risk_assessed'] as const),
          async react({ event, payment }, _prepared, manager) {
            if (event.type !== 'payment.risk_assessed' || event.data.decision === 'decline') return undefined;
            const decision = routeByPriority(payment.request, await routings.forMerchant(manager, payment.merchantId));
            return { type: 'RecordRoutingDecision', decision };
          },
        };
      },
    }),
  ],
})
export class AppModule {}
