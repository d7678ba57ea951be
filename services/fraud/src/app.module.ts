import { Module } from '@nestjs/common';
import { paymentConsumerProvider, PlatformModule, readPlatformConfig } from '@dirigen/service-kit';
import { fraudSchema } from './fraud.migrations';
import { riskAssessmentHandler } from './risk-assessment.handler';
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
      define: () => riskAssessmentHandler(new RiskProfiles()),
    }),
  ],
})
export class AppModule {}
