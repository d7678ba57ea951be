import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A forward-only TypeORM migration from SQL statements. `name` must end in a 13-digit
 * timestamp (TypeORM orders migrations by it).
 */
export function sqlMigration(name: string, statements: readonly string[]): new () => MigrationInterface {
  if (!/\d{13}$/.test(name)) throw new Error(`invariant: migration name ${name} must end in a 13-digit timestamp`);
  return class implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      for (const statement of statements) await queryRunner.query(statement);
    }

    async down(): Promise<void> {
      throw new Error(`${name} is forward-only: restore from backup to go back`);
    }
  };
}
