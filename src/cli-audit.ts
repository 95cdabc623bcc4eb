import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ID_PATTERN } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { AccountsModule } from './accounts/accounts.module';
import { AuditReport, LEDGER_AUDIT, LedgerAudit } from './accounts/audit/audit.port';
import { LedgerAuditModule } from './board/ledger-audit.module';
import { AppConfig, loadConfig } from './config';
import { EventsModule } from './events/events.module';

/** Exit codes of `redis-atomic audit` (for schedulers: anything but 0 wants a look). */
export const AUDIT_EXIT = { CONSISTENT: 0, MISMATCH: 1, USAGE: 2, UNPROVABLE: 3, FAILED: 4 } as const;

export const AUDIT_USAGE = `usage: redis-atomic audit [--ledger NAME] [--json]

  Recomputes every balance of the ledger from its event stream and compares it with the stored balances (and
  Σ balances with Σ opening balances + deposits − withdrawals). Changes nothing. Configured like the service
  (ATOMIC_STRATEGY, REDIS_URL, REDIS_CLUSTER_NODES, credentials, TLS…).

  --ledger NAME   the ledger (default: $LEDGER, else main)
  --json          print the whole report as JSON

exit codes: 0 consistent · 1 mismatch (the first one is printed) · 2 usage
            3 unprovable (the stream was trimmed: EVENTS_MAXLEN) · 4 failed (Redis unreachable, …)`;

@Module({})
class AuditCliModule {
  static forRoot(config: AppConfig, ledger: string): DynamicModule {
    return {
      module: AuditCliModule,
      imports: [
        ...(config.strategy === 'memory' ? [] : [RedisAtomicModule.forRoot(config.redis)]),
        AccountsModule.forRoot({ strategy: config.strategy, ledger, http: false }),
        EventsModule.forRoot({ strategy: config.strategy, streams: { ledger }, http: false }),
        LedgerAuditModule.forRoot({ ledgers: [{ name: ledger, stream: 'ledger' }] }),
      ],
    };
  }
}

export function describeReport(r: AuditReport): string {
  const lines = [`ledger ${r.ledger}: ${r.verdict} — ${r.accounts} accounts, ${r.events} events replayed (stream: ${r.stream.length} kept, ` +
    `${r.stream.added} ever added), ${r.mismatches} mismatching, ${r.durationMs} ms`];
  if (r.reason) lines.push(`  ${r.reason}`);
  if (r.firstMismatch) {
    const m = r.firstMismatch;
    lines.push(`  first mismatch: account ${m.account}, ${m.field}: stored ${m.stored}, the stream says ${m.expected}` +
      (m.eventId ? ` (last event ${m.eventId})` : ''));
  }
  if (r.verdict !== 'unprovable') {
    lines.push(`  Σ stored balances ${r.totals.stored} · Σ opens + deposits − withdrawals ${r.totals.expected}` +
      ` (${r.totals.opened} + ${r.totals.deposited} − ${r.totals.withdrawn})${r.totals.checked ? '' : ' — not compared: the ledger kept moving'}`);
  }
  return lines.join('\n');
}

export async function auditCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let ledger: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(AUDIT_USAGE);
      return AUDIT_EXIT.CONSISTENT;
    }
    if (arg === '--json') json = true;
    else if (arg === '--ledger' && i + 1 < argv.length) ledger = argv[++i];
    else if (arg.startsWith('--ledger=')) ledger = arg.slice('--ledger='.length);
    else {
      console.error(`redis-atomic audit: unexpected argument ${JSON.stringify(arg)}\n${AUDIT_USAGE}`);
      return AUDIT_EXIT.USAGE;
    }
  }
  const config = loadConfig(env);
  ledger ??= config.ledger;
  if (!ID_PATTERN.test(ledger)) {
    console.error(`redis-atomic audit: --ledger must match ${ID_PATTERN.source}`);
    return AUDIT_EXIT.USAGE;
  }
  const app = await NestFactory.createApplicationContext(AuditCliModule.forRoot(config, ledger), { logger: false, abortOnError: false });
  try {
    const report = await app.get<LedgerAudit>(LEDGER_AUDIT).audit(ledger);
    console.log(json ? JSON.stringify(report, null, 2) : describeReport(report));
    return report.verdict === 'consistent' ? AUDIT_EXIT.CONSISTENT : report.verdict === 'mismatch' ? AUDIT_EXIT.MISMATCH : AUDIT_EXIT.UNPROVABLE;
  } finally {
    await app.close();
  }
}
