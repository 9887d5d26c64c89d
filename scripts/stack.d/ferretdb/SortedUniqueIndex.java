import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.bson.Document;

/**
 * A unique index held in memory, ordered by a comparator that is cheap for the usual key types,
 * in place of H2UniqueIndex's MVMap. That map compares keys (KeyValue, which is not Comparable)
 * by serialising both with Java serialisation on every comparison of every lookup; profiled,
 * that was most of the server's time per upsert. The documents stay in the MVStore; the index is
 * rebuilt from them when a collection is opened (AbstractMongoCollection.addIndex fills an empty
 * index), so it cannot disagree with the data after a crash.
 *
 * <p>Keys are equal exactly when the library's were: same class element by element, and equal
 * natural order for strings, numbers (already normalised to Double, or Long when a double cannot
 * hold them), booleans, dates, ObjectIds and UUIDs; serialised bytes for anything else (embedded
 * documents stay field-order sensitive, as in MongoDB). Strings are in String.compareTo order,
 * the order mongo-java-server's matcher compares them in, so a range of strings is a sub-map.
 */
final class SortedUniqueIndex extends AbstractUniqueIndex<Object> {

    static final Comparator<KeyValue> KEY_ORDER = SortedUniqueIndex::compareKeys;

    private final NavigableMap<KeyValue, Object> positions = new ConcurrentSkipListMap<>(KEY_ORDER);
    /** Documents whose key field holds an array: a range on such a field may match across elements. */
    private final AtomicLong arrayValued = new AtomicLong();

    SortedUniqueIndex(String name, List<IndexKey> keys, boolean sparse) {
        super(name, keys, sparse);
    }

    @Override
    protected Object removeDocument(KeyValue keyValue) {
        return positions.remove(keyValue);
    }

    @Override
    protected boolean putKeyPosition(KeyValue keyValue, Object position) {
        return positions.putIfAbsent(keyValue, Missing.ofNullable(position)) == null;
    }

    @Override
    protected Iterable<Map.Entry<KeyValue, Object>> getIterable() {
        return positions.entrySet();
    }

    @Override
    protected Object getPosition(KeyValue keyValue) {
        return positions.get(keyValue);
    }

    @Override
    public synchronized void add(Document document, Object position, MongoCollection<Object> collection) {
        super.add(document, position, collection);
        if (holdsArray(document)) {
            arrayValued.incrementAndGet();
        }
    }

    @Override
    public synchronized Object remove(Document document) {
        Object position = super.remove(document);
        if (position != null && holdsArray(document)) {
            arrayValued.decrementAndGet();
        }
        return position;
    }

    private boolean holdsArray(Document document) {
        return keys().stream().anyMatch(key -> Utils.getSubdocumentValueCollectionAware(document, key) instanceof Collection);
    }

    @Override
    public long getCount() {
        return positions.size();
    }

    @Override
    public boolean isEmpty() {
        return positions.isEmpty();
    }

    @Override
    public long getDataSize() {
        return getCount();
    }

    /**
     * Positions of the documents whose single key is a string in the range (a null bound is
     * open), in key order; null when the index cannot answer exactly (a compound index, or an
     * array somewhere in the key field, where MongoDB matches a range across elements).
     */
    Collection<Object> stringRange(String low, boolean lowInclusive, String high, boolean highInclusive) {
        if (getKeys().size() != 1 || arrayValued.get() > 0) {
            return null;
        }
        KeyValue from = new KeyValue(low == null ? "" : low);
        NavigableMap<KeyValue, Object> tail = positions.tailMap(from, low == null || lowInclusive);
        List<Object> found = new ArrayList<>();
        for (Map.Entry<KeyValue, Object> entry : tail.entrySet()) {
            Object key = entry.getKey().get(0);
            if (!(key instanceof String)) {
                break;  // past the strings: keys are grouped by class
            }
            if (high != null) {
                int cmp = ((String) key).compareTo(high);
                if (cmp > 0 || (cmp == 0 && !highInclusive)) {
                    break;
                }
            }
            found.add(entry.getValue());
        }
        return found;
    }

    static int compareKeys(KeyValue a, KeyValue b) {
        int cmp = Integer.compare(a.size(), b.size());
        for (int i = 0; cmp == 0 && i < a.size(); i++) {
            cmp = compareElements(a.get(i), b.get(i));
        }
        return cmp;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compareElements(Object a, Object b) {
        if (a == b) {
            return 0;
        }
        if (a == null || b == null) {
            return a == null ? -1 : 1;
        }
        if (a.getClass() != b.getClass()) {
            // one group per class; strings form one contiguous group (see stringRange)
            return a.getClass().getName().compareTo(b.getClass().getName());
        }
        if (a instanceof Comparable && isNaturallyOrdered(a)) {
            return ((Comparable) a).compareTo(b);
        }
        return Arrays.compareUnsigned(serialized(a), serialized(b));
    }

    private static boolean isNaturallyOrdered(Object value) {
        return value instanceof String || value instanceof Double || value instanceof Long
            || value instanceof Boolean || value instanceof java.time.Instant
            || value instanceof de.bwaldvogel.mongo.bson.ObjectId || value instanceof java.util.UUID;
    }

    /** Java serialisation of a value: index keys of other classes, and documents BSON cannot carry (BsonDocumentType). */
    static byte[] serialized(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise a " + value.getClass(), e);
        }
        return bytes.toByteArray();
    }
}
