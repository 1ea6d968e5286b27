/**
 * Sets `key` to `value` as the newest entry of `map` (a Map keeps the order of insertion), and
 * forgets the oldest one when `map` would hold more than `max`: for records fed by remote input,
 * where what was heard least recently matters least.
 */
export function setNewest<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key); // set again, last
  map.set(key, value);
  if (map.size <= max) return;
  for (const oldest of map.keys()) {
    map.delete(oldest);
    return;
  }
}
