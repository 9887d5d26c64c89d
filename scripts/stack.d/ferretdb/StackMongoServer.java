import java.util.List;
import java.util.concurrent.CountDownLatch;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;

/**
 * The stack's MongoDB-wire-protocol server (scripts/stack.d/ferretdb.sh): mongo-java-server
 * with its H2 MVStore backend, bound to one address only (the library's own main classes
 * bind "localhost"/0.0.0.0 on a fixed port).
 *
 * Announces MongoDB 4.4.0 (wire version 9): PyMongo 4.20 needs at least that. Its collections
 * find documents through a unique index whenever a filter pins the index's fields
 * (StackH2Backend, UniqueIndexLookup), and its documents are stored as BSON (BsonDocumentType).
 *
 * Usage: StackMongoServer HOST PORT [H2_FILE]   (no file: in memory)
 * Stops cleanly on SIGTERM/SIGINT (closes the store).
 */
public final class StackMongoServer {
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: StackMongoServer HOST PORT [H2_FILE]");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        MongoBackend backend;
        try {
            backend = new StackH2Backend(args.length == 3 ? args[2] : null);
        } catch (IllegalStateException refused) {
            System.err.println("StackMongoServer: " + refused.getMessage());
            System.exit(1);
            return;
        }
        // The library announces wire version 6..8 (even for its ServerVersion.MONGO_5_0), below
        // what PyMongo 4.20 accepts (9+, MongoDB 4.4+). Announce 4.4.0 / wire version 9: the
        // lowest that PyMongo and mongosh 2.x accept, so clients use no newer features. The
        // version is used only in the hello/isMaster and buildInfo replies.
        backend.version(new MongoVersion() {
            @Override
            public List<Integer> getVersionArray() {
                return List.of(4, 4, 0);
            }

            @Override
            public int getWireVersion() {
                return 9;
            }
        });
        MongoServer server = new MongoServer(backend);
        server.bind(host, port);
        System.err.println("StackMongoServer: listening on " + host + ":" + port + " backend " + backend);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }));
        stopped.await();
    }
}
