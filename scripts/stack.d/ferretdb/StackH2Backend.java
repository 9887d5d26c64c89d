import java.util.Collection;
import java.util.List;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

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

    /** MVStore's page cache, in MB (its default, 16, is far below the loaders' collections). */
    static final int CACHE_MB = Integer.getInteger("stack.mvstore.cacheMB", 256);
    /**
     * When the store writes its changed pages to the file: after this many milliseconds, or once
     * this many KB of changes wait (H2's defaults: 1,000 ms and 1,024 KB). Every write rewrites
     * each changed B-tree page whole, so with the defaults a load rewrote the same pages many
     * times a second: loading an hour of sessions took 49 s (the server's CPU 51 s) where an
     * in-memory store took 29 s (21 s); with 5 s and 64 MB it took 31 s (27 s). The price: a
     * server killed with SIGKILL loses up to the last 5 s of acknowledged writes (a real mongod
     * commits its journal every 100 ms); a stop with SIGTERM closes the store and loses nothing.
     */
    static final int COMMIT_DELAY_MS = Integer.getInteger("stack.mvstore.commitDelayMs", 5_000);
    static final int COMMIT_BUFFER_KB = Integer.getInteger("stack.mvstore.commitBufferKB", 64 * 1024);
    /** The map that says how the file stores documents, and the value this server writes. */
    static final String FORMAT_MAP = "stack.format";
    static final String DOCUMENTS_FORMAT = "bson-1";
    private static final BsonDocumentType DOCUMENTS = new BsonDocumentType();

    StackH2Backend(String fileName) {
        super(openStore(fileName));
    }

    /**
     * The MVStore, with a page cache that holds the collections the loaders fill: with H2's
     * default, every insert into a collection of some tens of thousands of documents read B-tree
     * pages back from the file and deserialised their documents (profiled: a quarter of the CPU).
     */
    private static MVStore openStore(String fileName) {
        MVStore.Builder builder = new MVStore.Builder().cacheSize(CACHE_MB).autoCommitBufferSize(COMMIT_BUFFER_KB);
        MVStore store = fileName == null ? builder.open() : builder.fileName(fileName).open();
        store.setAutoCommitDelay(COMMIT_DELAY_MS);
        checkFormat(store, fileName);
        return store;
    }

    /**
     * Refuses a data file whose documents were stored another way (the library's own backend, or
     * an earlier stack, wrote them with Java serialisation): read as BSON they would be garbage.
     */
    private static void checkFormat(MVStore store, String fileName) {
        MVMap<String, String> format = store.openMap(FORMAT_MAP);
        boolean holdsData = store.getMapNames().stream().anyMatch(name -> name.startsWith("databases."));
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
            MVMap<Object, Document> dataMap = getMvStore().openMap("databases." + fullName,
                new MVMap.Builder<Object, Document>().valueType(DOCUMENTS));
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
