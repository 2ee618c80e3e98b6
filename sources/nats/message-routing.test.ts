import { describe, expect, it } from 'vitest';
import { parseLabelsHeader, routeMessage } from './message-routing.ts';
import { subjectCovers } from './jetstream-setup.ts';

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] ?? '' });
const defaults = { format: undefined, defaultTenant: 'default' };

describe('routeMessage', () => {
  it.each([
    { name: 'subject convention', subject: 'metrics.acme.prom', h: {}, want: { tenant: 'acme', format: 'prom' } },
    { name: 'longer prefix', subject: 'a.b.metrics.acme.influx', h: {}, want: { tenant: 'acme', format: 'influx' } },
    { name: 'unknown format token', subject: 'metrics.acme.xml', h: {}, want: { tenant: 'default', format: undefined } },
    { name: 'too short', subject: 'acme.prom', h: {}, want: { tenant: 'default', format: undefined } },
    { name: 'header names the format', subject: 'svc.out', h: { 'Sluice-Format': 'openmetrics' }, want: { tenant: 'default', format: 'openmetrics' } },
    { name: 'header beats subject', subject: 'metrics.acme.prom', h: { 'Sluice-Format': 'JSON' }, want: { tenant: 'acme', format: 'json' } },
    {
      name: 'content type when no format header',
      subject: 'svc.out',
      h: { 'Content-Type': 'application/openmetrics-text; version=1.0.0' },
      want: { tenant: 'default', format: 'openmetrics' },
    },
  ] as Array<{ name: string; subject: string; h: Record<string, string>; want: object }>)('$name', ({ subject, h, want }) => {
    expect(routeMessage(subject, headers(h), defaults)).toEqual(want);
  });

  it('a configured format wins over everything', () => {
    expect(routeMessage('metrics.acme.prom', headers({ 'Sluice-Format': 'json' }), { format: 'influx', defaultTenant: 'd' })).toEqual({
      tenant: 'acme',
      format: 'influx',
    });
  });
});

describe('parseLabelsHeader', () => {
  it.each([
    ['job=node,instance=host:9100', [['job', 'node'], ['instance', 'host:9100']]],
    ['', []],
    ['a=x%2Cy', [['a', 'x,y']]],
    ['novalue', undefined],
    ['1bad=x', undefined],
    ['a=%E0%A4%A', undefined],
  ] as const)('%s', (value, want) => {
    expect(parseLabelsHeader(value)).toEqual(want);
  });
});

describe('subjectCovers', () => {
  it.each([
    ['metrics.>', 'metrics.>', true],
    ['metrics.>', 'metrics.acme.prom', true],
    ['metrics.*.prom', 'metrics.acme.prom', true],
    ['metrics.*.prom', 'metrics.>', false],
    ['>', 'anything.at.all', true],
    ['metrics.acme.prom', 'metrics.acme', false],
  ] as const)('%s covers %s: %s', (filter, subject, want) => {
    expect(subjectCovers(filter, subject)).toBe(want);
  });
});
