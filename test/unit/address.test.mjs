// The SSRF address classifier: every refused class in both families, the literal forms resolvers
// accept, and IPv6 forms that carry an IPv4 address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAddress, isPublicAddress, parseIPv4, parseIPv6 } from '../../dist/net/index.js';

const kind = (a) => classifyAddress(a)?.kind;

test('IPv4 classes', () => {
  const cases = {
    '127.0.0.1': 'loopback', '127.255.255.254': 'loopback',
    '10.0.0.1': 'private', '10.255.255.255': 'private', '172.16.0.1': 'private', '172.31.255.255': 'private', '192.168.1.1': 'private',
    '169.254.1.1': 'link-local', '169.254.169.254': 'metadata', '169.254.170.2': 'metadata', '100.100.100.200': 'metadata',
    '100.64.0.1': 'cgnat', '100.127.255.255': 'cgnat',
    '224.0.0.1': 'multicast', '239.255.255.255': 'multicast',
    '0.0.0.0': 'unspecified', '0.1.2.3': 'unspecified',
    '255.255.255.255': 'broadcast', '240.0.0.1': 'reserved',
    '192.0.2.1': 'reserved', '198.51.100.7': 'reserved', '203.0.113.9': 'reserved', '198.18.0.1': 'reserved', '192.0.0.8': 'reserved',
    '8.8.8.8': 'public', '1.1.1.1': 'public', '172.15.255.255': 'public', '172.32.0.1': 'public', '100.63.255.255': 'public',
    '100.128.0.1': 'public', '169.253.255.255': 'public', '93.184.215.14': 'public', '11.0.0.1': 'public',
  };
  for (const [a, k] of Object.entries(cases)) assert.equal(kind(a), k, a);
});

test('IPv4 in decimal, octal, hex and shortened forms', () => {
  assert.equal(parseIPv4('2130706433'), 0x7f000001);
  assert.equal(kind('2130706433'), 'loopback');
  assert.equal(kind('0177.0.0.1'), 'loopback');
  assert.equal(kind('0x7f.0.0.1'), 'loopback');
  assert.equal(kind('0x7f000001'), 'loopback');
  assert.equal(kind('127.1'), 'loopback');
  assert.equal(kind('127.0.1'), 'loopback');
  assert.equal(kind('127.0.0.1.'), 'loopback');
  assert.equal(kind('017700000001'), 'loopback');
  assert.equal(kind('0xa9fea9fe'), 'metadata'); // 169.254.169.254
  assert.equal(kind('167772161'), 'private'); // 10.0.0.1
  assert.equal(kind('0'), 'unspecified');
  assert.equal(kind('134744072'), 'public'); // 8.8.8.8
  for (const bad of ['256.0.0.1', '1.2.3.4.5', '4294967296', '08.0.0.1', '1..2', 'example.com', '127.0.0.1x', '']) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

test('IPv6 classes', () => {
  const cases = {
    '::1': 'loopback', '::': 'unspecified', '[::1]': 'loopback', '0:0:0:0:0:0:0:1': 'loopback',
    'fe80::1': 'link-local', 'fe80::1%eth0': 'link-local', 'febf::1': 'link-local',
    'fc00::1': 'unique-local', 'fd12:3456::1': 'unique-local', 'fd00:ec2::254': 'metadata',
    'ff02::1': 'multicast', 'ff05::2': 'multicast', 'fec0::1': 'private',
    '2001:db8::1': 'reserved', '100::1': 'reserved', '2001::1': 'reserved', '::2': 'unspecified' /* ::0.0.0.2 */,
    '2606:4700:4700::1111': 'public', '2001:4860:4860::8888': 'public', '[2a00:1450:4001::1]': 'public',
  };
  for (const [a, k] of Object.entries(cases)) assert.equal(kind(a), k, a);
});

test('IPv6 forms that carry an IPv4 address are classified by it', () => {
  assert.equal(kind('::ffff:127.0.0.1'), 'loopback');
  assert.equal(kind('::ffff:7f00:1'), 'loopback'); // how the URL parser writes it
  assert.equal(kind('[::ffff:7f00:1]'), 'loopback');
  assert.equal(kind('::ffff:10.1.2.3'), 'private');
  assert.equal(kind('::ffff:169.254.169.254'), 'metadata');
  assert.equal(kind('::ffff:0.0.0.0'), 'unspecified');
  assert.equal(kind('::ffff:8.8.8.8'), 'public');
  assert.equal(kind('::127.0.0.1'), 'loopback'); // IPv4-compatible (deprecated)
  assert.equal(kind('::ffff:0:127.0.0.1'), 'loopback'); // SIIT
  assert.equal(kind('64:ff9b::127.0.0.1'), 'loopback'); // NAT64
  assert.equal(kind('64:ff9b::8.8.8.8'), 'public');
  assert.equal(kind('2002:7f00:1::'), 'loopback'); // 6to4 of 127.0.0.1
  assert.equal(kind('2002:c0a8:101::1'), 'private'); // 6to4 of 192.168.1.1
  assert.equal(kind('2002:808:808::1'), 'public');
});

test('IPv6 parsing rejects malformed text and round-trips canonical forms', () => {
  for (const bad of ['1::2::3', ':::', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '::ffff:256.0.0.1', '1:2:3:4:5:6:7', 'localhost']) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
  assert.equal(classifyAddress('0:0:0:0:0:ffff:7f00:1').address, '::ffff:7f00:1');
  assert.equal(classifyAddress('2001:0db8:0000:0000:0000:0000:0000:0001').address, '2001:db8::1');
  assert.equal(classifyAddress('0x7f.1').address, '127.0.0.1');
});

test('isPublicAddress is false for host names and every non-public class', () => {
  assert.equal(isPublicAddress('8.8.8.8'), true);
  assert.equal(isPublicAddress('localhost'), false);
  assert.equal(isPublicAddress('example.com'), false);
  assert.equal(isPublicAddress('::ffff:192.168.0.1'), false);
});
