"""Meeting events (see docs/events.md): ``MeetingEvent``, ``EventLog``, ``DeliveryRecord``."""
from chime_mock.events.log import (CONTENT_SUFFIX, EVENT_TYPES, DeliveryRecord, EventLog, MeetingEvent, check_limit,
                                   event_type, iso_time)

__all__ = ["MeetingEvent", "DeliveryRecord", "EventLog", "EVENT_TYPES", "event_type", "iso_time", "check_limit",
           "CONTENT_SUFFIX"]
