// Patient data never reaches the logs (LGPD). A runner logging at DEBUG, with Baileys' own logs
// routed through it and the console guard catching what libraries print, pairs a channel and
// exchanges every kind of message with a patient whose phone carries a push name; then the whole
// of what the process wrote is searched for every name, number, body, file name and coordinate used.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { captureOutput } from '#test/support/captured-output.ts';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC = { number: '5511911134567', pushName: 'Recepção Clínica Vila Sônia' };
const PATIENT = { number: '5511922234567', pushName: 'Maria Aparecida Quintela' };
/** A third person, named only inside contact cards. */
const CARD = { name: 'Joana Prado Bittencourt', number: '5521987651234' };
const BACK_CARD = { name: 'Rogério Tavares Nunes', number: '5531976543210' };

/** The forms a Brazilian mobile number takes in text: E.164, digits, national, local, formatted. */
function numberForms(e164Digits: string): string[] {
  const [area, local] = [e164Digits.slice(2, 4), e164Digits.slice(4)];
  const dashed = `${local.slice(0, -4)}-${local.slice(-4)}`;
  return [
    `+${e164Digits}`,
    e164Digits,
    `${area}${local}`,
    local,
    dashed,
    `(${area}) ${dashed}`,
    `${area} ${dashed}`,
    `+55 ${area} ${dashed}`,
    `+55 (${area}) ${dashed}`,
    `+55 ${area} ${local.slice(0, -4)} ${local.slice(-4)}`,
  ];
}

const vcard = (name: string, number: string) =>
  [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `FN:${name}`,
    `TEL;type=CELL;waid=${number}:+55 ${number.slice(2, 4)} ${number.slice(4, -4)}-${number.slice(-4)}`,
    'END:VCARD',
  ].join('\n');

const FROM_PATIENT = {
  text: 'Preciso remarcar a consulta de endocrinologia',
  afterRestart: 'Pode ser depois do almoço, tenho fisioterapia',
  burst: Array.from({ length: 8 }, (_, n) => `Sintoma ${n}: tontura ao levantar pela manhã`),
  documentName: 'exame-glicemia-quintela.pdf',
  document: Buffer.from('%PDF-1.7\n% glicemia em jejum 126 mg/dL\n'),
  caption: 'foto da receita do doutor Paulo',
  image: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('receita-amoxicilina')]),
  location: {
    latitude: -22.9068467,
    longitude: -43.1728965,
    name: 'Casa da Maria',
    address: 'Rua das Laranjeiras 321',
  },
};
const FROM_CLINIC = {
  text: 'Temos horário na quinta-feira às 14h com a doutora Helena',
  documentName: 'laudo-tireoide-quintela.pdf',
  document: Buffer.from('%PDF-1.7\n% TSH 7,9 mUI/L hipotireoidismo\n'),
  caption: 'Orientações pós-consulta da doutora Helena',
  image: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), Buffer.from('orientacoes-dieta')]),
  location: {
    latitude: -23.5613854,
    longitude: -46.6558819,
    name: 'Consultório Bela Cintra',
    address: 'Rua Bela Cintra 1578',
  },
};

/** Coordinates as decimals, with and without their sign, and shortened the way a formatter might. */
function coordinateForms(value: number): string[] {
  const text = String(value);
  return [text, text.replace('-', ''), value.toFixed(4)];
}

function needles(qr: string): Map<string, string> {
  const found = new Map<string, string>();
  const add = (what: string, values: string[]) => {
    for (const value of values) found.set(value, what);
  };
  for (const [who, person] of Object.entries({ CLINIC, PATIENT })) {
    add(`${who} push name`, [person.pushName, person.pushName.split(' ')[0] ?? '']);
    add(`${who} number`, numberForms(person.number));
  }
  for (const [who, card] of Object.entries({ CARD, BACK_CARD })) {
    add(`${who} contact name`, [card.name]);
    add(`${who} contact number`, numberForms(card.number));
  }
  add('FROM_PATIENT text', [FROM_PATIENT.afterRestart, 'tontura ao levantar']);
  for (const [side, content] of Object.entries({ FROM_PATIENT, FROM_CLINIC })) {
    add(`${side} text`, [content.text]);
    add(`${side} caption`, [content.caption]);
    add(`${side} file name`, [content.documentName, content.documentName.replace('.pdf', '')]);
    add(`${side} document bytes`, [
      content.document.toString('utf8').split('\n')[1] ?? '',
      content.document.toString('base64'),
      content.document.toString('hex'),
    ]);
    add(`${side} image bytes`, [content.image.toString('base64'), content.image.toString('hex')]);
    add(`${side} location name`, [content.location.name]);
    add(`${side} location address`, [content.location.address]);
    add(`${side} latitude`, coordinateForms(content.location.latitude));
    add(`${side} longitude`, coordinateForms(content.location.longitude));
  }
  const [, noiseKey, identityKey, advSecret] = qr.slice(qr.indexOf('#') + 1).split(',');
  add('QR code', [qr]);
  add('QR advSecretKey', [advSecret ?? qr]);
  add('QR keys', [noiseKey ?? qr, identityKey ?? qr]);
  found.delete('');
  return found;
}

describe('runner logs', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let channel: Channel;
  let clinicPhone: VirtualPhone;
  let patient: VirtualPhone;
  let output: ReturnType<typeof captureOutput>;

  beforeEach(async () => {
    // Everything the process writes from here on, whoever writes it.
    output = captureOutput();
    simulator = await startSimulator();
    world = await runnerPlatform(simulator, undefined, { logLevel: 'DEBUG' });
    clinicPhone = await simulator.phones.create(CLINIC.number, { pushName: CLINIC.pushName });
    patient = await simulator.phones.create(PATIENT.number, { pushName: PATIENT.pushName });
    channel = await world.newChannel('Atendimento');
    await world.startRunner('runner-a');
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
    output.restore();
  });

  const send = (message: OutboundMessage) => world.send(channel, message);
  const command = () => world.commandFields(channel);

  it('hold no name, number, body, caption, file name, coordinate or QR of the conversation', async () => {
    await world.pairByQr(channel, clinicPhone);
    const qr = world.events.of('channel.qr', channel.id)[0]?.data.qr ?? '';

    await patient.sendText(CLINIC.number, FROM_PATIENT.text);
    await patient.sendMedia(CLINIC.number, {
      kind: 'document',
      data: FROM_PATIENT.document,
      mimetype: 'application/pdf',
      fileName: FROM_PATIENT.documentName,
    });
    await patient.sendMedia(CLINIC.number, {
      kind: 'image',
      data: FROM_PATIENT.image,
      mimetype: 'image/jpeg',
      caption: FROM_PATIENT.caption,
    });
    await patient.sendLocation(CLINIC.number, FROM_PATIENT.location);
    await patient.sendContact(CLINIC.number, {
      displayName: CARD.name,
      vcard: vcard(CARD.name, CARD.number),
    });
    const received = await until(() => {
      const events = world.events.of('message.received', channel.id);
      return events.length >= 5 ? events : undefined;
    }, 'the patient’s five messages');
    // The data went through the runner: what is searched for below was there to leak.
    expect(received.map((event) => event.data.type).sort()).toEqual(
      ['contacts', 'document', 'image', 'location', 'text'].sort(),
    );
    expect(JSON.stringify(received)).toContain(FROM_PATIENT.documentName);

    const to = `+${PATIENT.number}`;
    const documentId = await world.media.put(channel.tenantId, {
      data: FROM_CLINIC.document,
      mimeType: 'application/pdf',
      fileName: FROM_CLINIC.documentName,
    });
    const imageId = await world.media.put(channel.tenantId, {
      data: FROM_CLINIC.image,
      mimeType: 'image/jpeg',
      fileName: null,
    });
    await send({ to, type: 'text', text: { body: FROM_CLINIC.text } });
    await send({
      to,
      type: 'document',
      document: { mediaId: documentId, filename: FROM_CLINIC.documentName },
    });
    await send({ to, type: 'image', image: { mediaId: imageId, caption: FROM_CLINIC.caption } });
    await send({ to, type: 'location', location: FROM_CLINIC.location });
    await send({
      to,
      type: 'contacts',
      contacts: [
        {
          name: { formattedName: BACK_CARD.name },
          phones: [{ phone: `+${BACK_CARD.number}` }],
        },
      ],
    });
    await until(() => (patient.received.length >= 5 ? true : undefined), 'the clinic’s five messages');
    expect(patient.received.map((message) => message.fileName)).toContain(FROM_CLINIC.documentName);

    // A number check, and a restart (a login from stored creds) with a message after it.
    const opened = () =>
      world.events.of('channel.status', channel.id).filter((event) => event.data.status === 'open').length;
    const check = { ...command(), type: 'check_numbers' as const, phoneNumbers: [to, `+${CARD.number}`] };
    await world.bus.send(check, channel.shard);
    await until(() => world.contactChecks.get(channel.tenantId, check.commandId), 'the number check');
    const openedBeforeRestart = opened();
    await world.bus.send({ ...command(), type: 'restart' }, channel.shard);
    await until(() => opened() > openedBeforeRestart || undefined, 'the channel to open again');
    await patient.sendText(CLINIC.number, FROM_PATIENT.afterRestart);
    await until(
      () => world.events.of('message.received', channel.id).length >= 6 || undefined,
      'the message after the restart',
    );
    // The connection dropped while the patient's messages are being handled: Baileys' error paths.
    // Only the reconnection is awaited: what becomes of the burst is not this test's subject.
    const [runnerDevice] = clinicPhone.linkedDevices();
    const before = world.events.of('message.received', channel.id).length;
    const openedBefore = opened();
    for (const text of FROM_PATIENT.burst) await patient.sendText(CLINIC.number, text);
    await until(
      () => world.events.of('message.received', channel.id).length > before || undefined,
      'the first of the burst',
    );
    simulator.faults.dropConnections({ phoneNumber: CLINIC.number, deviceId: runnerDevice });
    await until(() => opened() > openedBefore || undefined, 'the channel to reconnect', 60_000);
    await world.stopAll();

    const written = output.text();
    // The runner did log, at every level, and Baileys' logs came through it.
    expect(written).toMatch(/"level":"DEBUG"/);
    expect(written).toMatch(/"level":"INFO"/);
    expect(written).toMatch(/"baileys":/);
    const leaks = [...needles(qr)]
      .filter(([needle]) => written.includes(needle))
      .map(([needle, what]) => {
        const line = written.split('\n').find((candidate) => candidate.includes(needle)) ?? '';
        return `${what} (${JSON.stringify(needle)}) in: ${line.slice(0, 400)}`;
      });
    expect(leaks).toEqual([]);
    // A whole conversation, a restart and a reconnect: minutes on a loaded 2-core machine.
  }, 300_000);
});
