import java.util.Collection;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;

/**
 * mongo-java-server's H2 MVStore backend whose collections look documents up through a unique
 * index whenever the filter pins the index's fields (UniqueIndexLookup), not only when the
 * filter has exactly the index's fields. Every read and write that selects documents goes
 * through {@code queryDocuments}: find, count, distinct, update and upsert, findAndModify,
 * delete. Storage is the library's own (same MVStore maps), so a data file written by either
 * opens in the other.
 */
final class StackH2Backend extends H2Backend {

    StackH2Backend(String fileName) {
        super(MVStore.open(fileName));  // fileName null: in memory
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
            MVMap<Object, Document> dataMap = getMvStore().openMap("databases." + fullName);
            MVMap<String, Object> metaMap = getMvStore().openMap("meta." + fullName);
            return new IndexedCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
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
