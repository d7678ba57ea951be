import { Module } from '@nestjs/common';
import { assessRisk } from '@dirigen/fraud-rules';
import { paymentConsumerProvider, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { fraudSchema } from './fraud.migrations';
import { RiskProfiles } from './risk-profiles';

export const config = readPlatformConfig('fraud', 8280);

@Module({
  imports: [PlatformModule.forRoot({ config, schema: fraudSchema })],
  providers: [
    paymentConsumerProvider({
      config,
      groupId: 'fraud',
      schema: fraudSchema,
      // Scores every requested payment; the decider turns a decline into a failed payment.
      define: () => {
        const profiles = new RiskProfiles();
        return {
          folds: new Set(['payment.requested'] as const),
          async react({ event, payment }, _prepared, manager) {
            if (event.type !== 'payment.requested') return undefined;
            const assessment = assessRisk(payment.request, await profiles.forMerchant(manager, payment.merchantId));
            return { type: 'RecordRiskAssessment', assessment };
          },
        };
      },
    }),
  ],
})
export class AppModule {}
