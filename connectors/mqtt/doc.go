// Package mqtt is the MQTT source connector: it subscribes to MQTT topic
// filters (MQTT 5, through github.com/eclipse/paho.golang) and produces
// the messages to Kafka at least once.
//
// It answers to Confluent's class name io.confluent.connect.mqtt.MqttSourceConnector
// and reads its keys, and to the alias mqtt-source.
//
// Delivery rests on the broker-side session, not on source offsets:
//
//   - QoS 1/2 messages are acknowledged (PUBACK, PUBREC) only in Commit,
//     which the runtime calls after Kafka acknowledged the record, in poll
//     order, which is arrival order; acknowledgements go only to the
//     connection the message came on.
//   - Each task keeps a persistent session (clean start 0, session expiry)
//     under a stable client id, <mqtt.client.id or spur-<connector>>-<task>,
//     so a restarted task gets what was queued or unacknowledged.
//   - Tasks share the filters through shared subscriptions
//     ($share/<group>/<filter>), or split them as Confluent's connector does.
//   - A task holds at most mqtt.max.inflight.messages unacknowledged
//     messages: it sends that as its Receive Maximum and stops reading when
//     a broker sends more anyway.
//
// docs/connectors/mqtt-source.md describes the connector for users.
package mqtt
