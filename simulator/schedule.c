/* schedule.c - fixed reload ticks counted from gateway start.
 *
 * WSO2's sender re-reads its SSL profiles on a timer that started with the
 * gateway: ticks fall at start + k * interval whatever happened in between. A
 * change made just before a tick is live at that tick; one made just after it
 * waits almost a whole interval. The schedule is pure arithmetic on the
 * (possibly fake) wall clock, so stepping the clock past several ticks at once
 * is one advance that reports how many ticks went by.
 */
#include "sim.h"

void gsim_schedule_init(gsim_schedule *s, int64_t start_ms, int64_t interval_ms) {
  s->start_ms = start_ms;
  s->interval_ms = interval_ms > 0 ? interval_ms : 1;
  s->last_index = 0;
}

static int64_t due_index(const gsim_schedule *s, int64_t now_ms) {
  if (now_ms < s->start_ms)
    return 0; /* the clock went back: nothing new is due */
  return (now_ms - s->start_ms) / s->interval_ms;
}

int64_t gsim_schedule_advance(gsim_schedule *s, int64_t now_ms) {
  int64_t due = due_index(s, now_ms);
  if (due <= s->last_index)
    return 0;
  int64_t passed = due - s->last_index;
  s->last_index = due;
  return passed;
}

int64_t gsim_schedule_tick_ms(const gsim_schedule *s, int64_t index) {
  return s->start_ms + index * s->interval_ms;
}

int64_t gsim_schedule_next_ms(const gsim_schedule *s, int64_t now_ms) {
  int64_t due = due_index(s, now_ms);
  if (due < s->last_index)
    due = s->last_index;
  return gsim_schedule_tick_ms(s, due + 1);
}
