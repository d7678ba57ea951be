import { Module } from '@nestjs/common';
import { paymentConsumerProvider, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { MerchantRoutings } from './merchant-routing';
import { routingDecisionHandler } from './routing-decision.handler';
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
      define: () => routingDecisionHandler(new MerchantRoutings()),
    }),
  ],
})
export class AppModule {}
