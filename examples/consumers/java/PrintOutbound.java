/*
 * A downstream consumer of anonmerge's outbound streams in Java, with Apache Kafka's client and
 * Apache Avro only (docs/consuming.md): one JSON line per record on stdout —
 * {"topic","partition","offset","key","value"} — value null for a person's tombstone.
 *
 *   mvn -q -f examples/consumers/java/pom.xml dependency:copy-dependencies -DoutputDirectory=libs
 *   BOOTSTRAP_SERVERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
 *   GROUP_ID=my-app java -cp 'libs/*' examples/consumers/java/PrintOutbound.java
 *
 * What matters:
 * - keys are plain UTF-8 strings (StringDeserializer), not Avro;
 * - values are the Confluent wire format (magic byte 0, a 4-byte schema id, the Avro body): the
 *   writer's schema is fetched once per id from the registry (GET /schemas/ids/{id}), so no
 *   Confluent artifact is needed;
 * - isolation.level=read_committed: the merger writes in transactions; an aborted one must never
 *   be seen (the Java client filters them correctly);
 * - a null value on merged-events is the person's tombstone (SPEC R10);
 * - offsets are committed after the records of a poll were handled (at-least-once: de-duplicate
 *   by event_id / activity_id).
 *
 * TOPIC_PREFIX (default anonmerge) and STREAMS (default merged-events,campaign-triggers,activity,
 * anonymous-events) choose what it reads; EXIT_WHEN_IDLE_MS stops it after that long without a
 * record (tests), otherwise it runs until it is stopped.
 */
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

public class PrintOutbound {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Writer schemas by id, fetched once each. */
  private static final Map<Integer, GenericDatumReader<Object>> READERS = new HashMap<>();

  static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  static GenericDatumReader<Object> readerFor(String registry, int schemaId) throws Exception {
    GenericDatumReader<Object> reader = READERS.get(schemaId);
    if (reader != null) return reader;
    HttpRequest request = HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + schemaId)).timeout(Duration.ofSeconds(10)).GET().build();
    HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) throw new IllegalStateException("schema id " + schemaId + ": HTTP " + response.statusCode() + " " + response.body());
    Schema schema = new Schema.Parser().parse(JSON.readTree(response.body()).get("schema").asText());
    reader = new GenericDatumReader<>(schema);
    READERS.put(schemaId, reader);
    return reader;
  }

  static JsonNode decode(String registry, byte[] bytes) throws Exception {
    if (bytes == null) return null;
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    if (bytes.length < 5 || buffer.get() != 0) throw new IllegalStateException("not the registry wire format (no magic byte 0)");
    int schemaId = buffer.getInt();
    Object value = readerFor(registry, schemaId).read(null, DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));
    // GenericData renders a record as JSON (enums as their symbol, unions unwrapped).
    return JSON.readTree(GenericData.get().toString(value));
  }

  public static void main(String[] args) throws Exception {
    String prefix = env("TOPIC_PREFIX", "anonmerge");
    List<String> topics = Arrays.stream(env("STREAMS", "merged-events,campaign-triggers,activity,anonymous-events").split(",")).map(s -> prefix + "." + s).toList();
    String registry = env("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7");
    long idleMs = Long.parseLong(env("EXIT_WHEN_IDLE_MS", "0"));

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, env("BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
    props.put(ConsumerConfig.GROUP_ID_CONFIG, env("GROUP_ID", "example-java-consumer"));
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());

    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
      // On SIGTERM/SIGINT: wake the poll, then wait for the loop to commit and close before the JVM exits.
      Thread main = Thread.currentThread();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          consumer.wakeup();
        } catch (RuntimeException alreadyClosed) {
          // The loop ended on its own (EXIT_WHEN_IDLE_MS) and closed the consumer.
        }
        try {
          main.join(10_000);
        } catch (InterruptedException ignored) {
          Thread.currentThread().interrupt();
        }
      }));
      consumer.subscribe(topics);
      long lastRecordAt = System.currentTimeMillis();
      while (true) {
        ConsumerRecords<String, byte[]> records;
        try {
          records = consumer.poll(Duration.ofMillis(200));
        } catch (org.apache.kafka.common.errors.WakeupException stopping) {
          break;
        }
        if (records.isEmpty()) {
          if (idleMs > 0 && System.currentTimeMillis() - lastRecordAt > idleMs) break;
          continue;
        }
        lastRecordAt = System.currentTimeMillis();
        for (ConsumerRecord<String, byte[]> record : records) {
          ObjectNode line = JSON.createObjectNode();
          line.put("topic", record.topic());
          line.put("partition", record.partition());
          line.put("offset", record.offset());
          line.put("key", record.key());
          line.set("value", decode(registry, record.value()));
          out.println(JSON.writeValueAsString(line));
        }
        out.flush();
        consumer.commitSync();
      }
    }
  }
}
