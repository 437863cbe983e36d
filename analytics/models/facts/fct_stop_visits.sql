-- One row per stop visit (a stop reached): dwell, the window, on time or late, with the trip's
-- carrier and lane and the ISO week (Monday) of the arrival.
select
  v.stop_id,
  v.tenant_id,
  v.shipment_id,
  v.stop_sequence,
  v.stop_type,
  v.facility,
  t.carrier_id,
  t.carrier_name,
  t.lane,
  v.arrived_at,
  v.departed_at,
  cast(date_trunc('week', v.arrived_at) as date) as arrival_week,
  v.window_start,
  v.window_end,
  v.dwell_min,
  v.planned_dwell_min,
  v.on_time,
  v.lateness_min
from {{ ref('stg_stop_visits') }} v
join {{ ref('fct_trips') }} t on t.shipment_id = v.shipment_id
where v.arrived_at is not null
