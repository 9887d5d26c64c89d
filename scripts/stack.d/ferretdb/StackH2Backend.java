import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;

/**
 * mongo-java-server's H2 MVStore backend whose unique indexes are in memory and cheaply ordered
 * (SortedUniqueIndex) and whose collections look documents up through them whenever the
 * filter pins an index's fields or bounds its strings (UniqueIndexLookup), not only when the
 * filter has exactly the index's fields. Every read and write that selects documents goes
 * through {@code queryDocuments}: find, count, distinct, update and upsert, findAndModify,
 * delete. Documents are stored in the library's MVStore maps, as BSON (BsonDocumentType), so a
 * data file of the library's own backend does not open here, nor one of ours there (checkFormat
 * says so); the indexes are rebuilt from the documents on opening.
 */
final class StackH2Backend extends H2Backend {

    /** MVStore's page cache, in MB as getMemory counts (its default, 16, is far below the loaders' collections). */
    static final int CACHE_MB = Integer.getInteger("stack.mvstore.cacheMB", 256);
    /**
     * When the store writes its changed pages to the file: after this many milliseconds, or once
     * this many KB of changes wait, as getMemory counts them (H2's defaults: 1,000 ms and 1,024 KB;
     * BsonDocumentType counts a document's heap, about 4 times its BSON, so 128 MB is about 32 MB
     * written). Every write rewrites each changed B-tree page whole, so with the defaults a load
     * rewrote the same pages many times a second: loading an hour of sessions took 49.8 s (the
     * server's CPU 51 s) where an in-memory store took 28.9 s (21 s); with 5 s and 128 MB it took
     * 33.6 s (33 s). The price: a server killed with SIGKILL loses up to the last 5 s of
     * acknowledged writes (a real mongod commits its journal every 100 ms); a stop with SIGTERM
     * closes the store and loses nothing. The JVM gets -Xmx3g (scripts/stack.d/ferretdb.sh) for
     * the cache, the waiting changes, the buffer they are written through and the unique indexes:
     * with -Xmx2g and a 512 MB cache, the end-to-end benchmark spent 150 s in 51 full collections
     * and a client's monitor gave the server up (no heartbeat answer in 20 s).
     */
    static final int COMMIT_DELAY_MS = Integer.getInteger("stack.mvstore.commitDelayMs", 5_000);
    static final int COMMIT_BUFFER_KB = Integer.getInteger("stack.mvstore.commitBufferKB", 128 * 1024);
    /** The map that says how the file stores documents, and the value this server writes. */
    static final String FORMAT_MAP = "stack.format";
    static final String DOCUMENTS_FORMAT = "bson-1";
    private static final BsonDocumentType DOCUMENTS = new BsonDocumentType();
    /** The prefix of H2Database's maps of documents (its own constant is package-private). */
    private static final String DATA_MAP_PREFIX = "databases.";

    StackH2Backend(String fileName) {
        super(openStore(fileName));
    }

    /**
     * The MVStore, with a page cache that holds the collections the loaders fill: with H2's
     * default, every insert into a collection of some tens of thousands of documents read B-tree
     * pages back from the file and deserialised their documents (profiled: a quarter of the CPU).
     */
    private static MVStore openStore(String fileName) {
        if (fileName == null) {
            return paced(builder().open());
        }
        try {
            return opened(fileName);
        } catch (MVStoreException unreadable) {
            moveAside(fileName, unreadable);
            return opened(fileName);
        }
    }

    private static MVStore.Builder builder() {
        return new MVStore.Builder().cacheSize(CACHE_MB).autoCommitBufferSize(COMMIT_BUFFER_KB);
    }

    private static MVStore paced(MVStore store) {
        store.setAutoCommitDelay(COMMIT_DELAY_MS);
        return store;
    }

    /** The file's store, its format checked and every map's root page read (where damage shows first). */
    private static MVStore opened(String fileName) {
        MVStore store = builder().fileName(fileName).open();
        try {
            checkFormat(store, fileName);
            for (String name : store.getMapNames()) {
                if (name.startsWith(DATA_MAP_PREFIX)) {
                    openDataMap(store, name);
                } else {
                    store.openMap(name);
                }
            }
        } catch (MVStoreException unreadable) {
            store.closeImmediately();
            throw unreadable;
        }
        return paced(store);
    }

    static MVMap<Object, Document> openDataMap(MVStore store, String name) {
        return store.openMap(name, new MVMap.Builder<Object, Document>().valueType(DOCUMENTS));
    }

    /**
     * A data file H2 cannot open (seen once: a write cut short when the heap ran out left a
     * chunk H2 then refused, "File corrupted in chunk 94") is renamed, kept for inspection, and
     * the server starts on a new file, saying so: the stack holds test data, and a stack that
     * cannot start fails every test after it.
     */
    private static void moveAside(String fileName, MVStoreException unreadable) {
        Path corrupt = Paths.get(fileName + ".unreadable-" + System.currentTimeMillis());
        try {
            Files.move(Paths.get(fileName), corrupt);
        } catch (IOException e) {
            throw new IllegalStateException("the data file " + fileName + " cannot be opened (" + unreadable.getMessage()
                + ") nor moved aside (" + e.getMessage() + ")", unreadable);
        }
        System.err.println("StackMongoServer: the data file " + fileName + " cannot be opened (" + unreadable.getMessage()
            + "); moved it to " + corrupt + " and started on an empty one");
    }

    /**
     * Refuses a data file whose documents were stored another way (the library's own backend, or
     * an earlier stack, wrote them with Java serialisation): read as BSON they would be garbage.
     */
    private static void checkFormat(MVStore store, String fileName) {
        MVMap<String, String> format = store.openMap(FORMAT_MAP);
        boolean holdsData = store.getMapNames().stream().anyMatch(name -> name.startsWith(DATA_MAP_PREFIX));
        String found = format.get("documents");
        if (holdsData && !DOCUMENTS_FORMAT.equals(found)) {
            store.close();
            throw new IllegalStateException("the data file " + fileName + " stores documents as "
                + (found == null ? "Java serialisation" : found) + ", not " + DOCUMENTS_FORMAT
                + "; move it away (or delete it) and start again");
        }
        format.put("documents", DOCUMENTS_FORMAT);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName, getCursorRegistry());
    }

    /**
     * An inner class on purpose: H2Database's constructor already opens the stored collections
     * (a virtual call to openOrCreateCollection), and the enclosing backend, which holds the
     * MVStore, is set before that runs.
     */
    private final class Database extends H2Database {

        Database(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, getMvStore(), cursorRegistry);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            // the map names H2Database uses (its prefixes are package-private)
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = openDataMap(getMvStore(), DATA_MAP_PREFIX + fullName);
            MVMap<String, Object> metaMap = getMvStore().openMap("meta." + fullName);
            return new IndexedCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                        boolean sparse) {
            // in memory, filled from the documents when the collection adds it (SortedUniqueIndex)
            return new SortedUniqueIndex(indexName, keys, sparse);
        }
    }

    static final class IndexedCollection extends H2Collection {

        IndexedCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                          MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            // $natural asks for storage order, which only the scan gives
            boolean natural = orderBy != null && orderBy.containsKey("$natural");
            if (!natural && query != null) {
                Collection<Object> positions = UniqueIndexLookup.candidates(getIndexes(), query, count());
                if (positions != null) {
                    // the whole filter is applied to each candidate, exactly as the scan applies it
                    return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                }
            }
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
    }
}
