package stakegraph;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * An in-process Neo4j 5 Community server for the tests: Bolt on 127.0.0.1, auth on.
 *
 * Why not the Neo4j distribution: only Maven Central is reachable from the project's machines,
 * and the embedded jars from there are the same kernel, Cypher and Bolt server.
 *
 * Usage: java -cp ... stakegraph.Launcher --home DIR [--port N] [--pagecache 256m]
 *        [--parent-pid PID] [--uri-file FILE]
 * The password of user neo4j comes from the environment (NEO4J_PASSWORD), never the command line,
 * so `ps` does not show it. Port 0 (the default) takes a free port. When Bolt listens, the URI is
 * printed and written to --uri-file; the process then blocks until killed (SIGTERM shuts the
 * database down cleanly) or until the parent process is gone, so a killed test run leaves no server.
 */
public final class Launcher {
    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i], argv[i + 1]);
        }
        Path home = Path.of(required(args, "--home")).toAbsolutePath();
        int port = Integer.parseInt(args.getOrDefault("--port", "0"));
        long pageCache = ByteUnit.parse(args.getOrDefault("--pagecache", "256m"));
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            fail("NEO4J_PASSWORD must be set to 8 or more characters (Neo4j's minimum)");
        }

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                // As docs/neo4j.md advises for production: LOAD CSV may not read the server's files
                // (the console's plan check refuses LOAD CSV too; this is the server's own guard).
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-shutdown"));

        // The initial user is neo4j/neo4j with a forced change; set the test password instead.
        dbms.database("system").executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));

        GraphDatabaseAPI system = (GraphDatabaseAPI) dbms.database("system");
        int bound = system.getDependencyResolver().resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT).getPort();
        String uri = "bolt://127.0.0.1:" + bound;
        if (args.containsKey("--uri-file")) {
            Path file = Path.of(args.get("--uri-file"));
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, uri + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        System.out.println(uri);
        System.out.flush();

        long parent = Long.parseLong(args.getOrDefault("--parent-pid", "0"));
        while (!stopped.await(1, TimeUnit.SECONDS)) {
            if (parent > 0 && ProcessHandle.of(parent).map(p -> !p.isAlive()).orElse(true)) {
                System.err.println("parent process " + parent + " is gone: stopping Neo4j");
                System.exit(0); // runs the shutdown hook
            }
        }
    }

    private static String required(Map<String, String> args, String name) {
        String value = args.get(name);
        if (value == null) {
            fail("missing " + name);
        }
        return value;
    }

    private static void fail(String message) {
        System.err.println("stakegraph neo4j launcher: " + message);
        System.exit(2);
    }
}
