import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * Finds the documents a filter can match through a unique index, when the filter pins every
 * field of that index to one or a few values: {@code {k: v}}, {@code {k: {$eq: v}}},
 * {@code {k: {$in: [v1, v2]}}}, at the top level or inside a top-level {@code $and}, next to
 * any other conditions. mongo-java-server itself uses an index only when the filter's fields
 * are exactly the index's and never for {@code $eq}, so {@code {user_id: U, batches: {$ne: B}}}
 * scanned the whole collection.
 *
 * <p>The result is a superset of the matching documents' positions: the caller still applies
 * the whole filter to each candidate, so the answer is the scan's, only found sooner. That
 * holds because a candidate key is looked up exactly as the index stores it (the library's own
 * {@link Index#getPositions}, which normalises numbers as it does on insert), and only for
 * values whose MongoDB equality is the index's key equality: strings, booleans, ObjectIds,
 * dates and numbers a double represents exactly. Anything else (null, which also matches a
 * missing field; arrays, which match as a whole; embedded documents; regular expressions;
 * Decimal128; dotted index keys, whose arrays of subdocuments the matcher walks its own way)
 * leaves the filter to the scan.
 */
final class UniqueIndexLookup {

    /** Beyond this many index probes (the product of the $in lists), scanning is cheaper. */
    static final int MAX_PROBES = 100_000;

    private UniqueIndexLookup() {
    }

    /**
     * Positions of the documents that may match {@code filter}, in index-key order, or null
     * when no unique index pins the filter (then the caller scans).
     */
    static <P> Collection<P> candidates(List<Index<P>> indexes, Document filter, long documents) {
        Map<String, List<Object>> conditions = new LinkedHashMap<>();
        collectFieldConditions(filter, conditions);
        if (conditions.isEmpty()) {
            return null;
        }
        Map<String, List<Object>> pinned = new LinkedHashMap<>();
        conditions.forEach((field, fieldConditions) -> {
            for (Object condition : fieldConditions) {
                List<Object> values = pinnedValues(condition);
                if (values != null) {
                    pinned.put(field, values);  // any one condition alone already bounds the matches
                    break;
                }
            }
        });
        Index<P> best = null;
        long bestProbes = Long.MAX_VALUE;
        for (Index<P> index : indexes) {
            if (!index.isUnique()) {
                continue;  // the library's secondary indexes are empty placeholders
            }
            long probes = probes(index, pinned);
            if (probes < bestProbes) {
                best = index;
                bestProbes = probes;
            }
        }
        if (best == null || bestProbes > Math.max(MAX_PROBES, documents)) {
            return stringRangeCandidates(indexes, conditions);
        }
        Set<P> positions = new LinkedHashSet<>();
        for (Document key : keyCombinations(best, pinned)) {
            for (P position : best.getPositions(key)) {
                positions.add(position);  // $in [1, 1.0] names one document once
            }
        }
        return positions;
    }

    /**
     * A range of strings on the single field of a unique index ({@code $gt}, {@code $gte},
     * {@code $lt}, {@code $lte}; bounds of other types are left to the matcher, as the strings'
     * range already holds every document that can match), or null.
     */
    @SuppressWarnings("unchecked")
    private static <P> Collection<P> stringRangeCandidates(List<Index<P>> indexes, Map<String, List<Object>> conditions) {
        for (Index<P> index : indexes) {
            if (!(index instanceof SortedUniqueIndex) || index.getKeys().size() != 1) {
                continue;
            }
            String field = index.getKeys().get(0).getKey();
            Document operators = firstOperatorDocument(conditions.get(field));
            if (field.contains(".") || operators == null) {
                continue;
            }
            String low = null;
            String high = null;
            boolean lowInclusive = true;
            boolean highInclusive = true;
            if (operators.get("$gte") instanceof String) {
                low = (String) operators.get("$gte");
            }
            if (operators.get("$gt") instanceof String && (low == null || ((String) operators.get("$gt")).compareTo(low) >= 0)) {
                low = (String) operators.get("$gt");
                lowInclusive = false;
            }
            if (operators.get("$lte") instanceof String) {
                high = (String) operators.get("$lte");
            }
            if (operators.get("$lt") instanceof String && (high == null || ((String) operators.get("$lt")).compareTo(high) <= 0)) {
                high = (String) operators.get("$lt");
                highInclusive = false;
            }
            if (low == null && high == null) {
                continue;
            }
            Collection<Object> range = ((SortedUniqueIndex) index).stringRange(low, lowInclusive, high, highInclusive);
            if (range != null) {
                return (Collection<P>) range;
            }
        }
        return null;
    }

    private static Document firstOperatorDocument(List<Object> fieldConditions) {
        for (Object condition : fieldConditions == null ? List.of() : fieldConditions) {
            if (condition instanceof Document && isOperatorDocument((Document) condition)) {
                return (Document) condition;
            }
        }
        return null;
    }

    private static boolean isOperatorDocument(Document condition) {
        return !condition.isEmpty() && !BsonRegularExpression.isRegularExpression(condition)
            && condition.keySet().stream().allMatch(name -> name.startsWith("$"));
    }

    /** How many lookups serve the filter through this index, or Long.MAX_VALUE if it cannot. */
    private static <P> long probes(Index<P> index, Map<String, List<Object>> pinned) {
        long product = 1;
        for (IndexKey key : index.getKeys()) {
            List<Object> values = pinned.get(key.getKey());
            if (values == null || key.getKey().contains(".")) {
                return Long.MAX_VALUE;
            }
            product = Math.min(product * Math.max(values.size(), 1), Long.MAX_VALUE / 2);
        }
        return product;
    }

    private static <P> List<Document> keyCombinations(Index<P> index, Map<String, List<Object>> pinned) {
        List<Document> combinations = new ArrayList<>();
        combinations.add(new Document());
        for (IndexKey key : index.getKeys()) {
            List<Document> next = new ArrayList<>();
            for (Document partial : combinations) {
                for (Object value : pinned.get(key.getKey())) {
                    Document extended = new Document(partial);
                    extended.put(key.getKey(), value);
                    next.add(extended);
                }
            }
            combinations = next;
        }
        return combinations;
    }

    /** Collects the conditions on each top-level field, also those inside a top-level {@code $and}. */
    private static void collectFieldConditions(Document filter, Map<String, List<Object>> conditions) {
        for (Map.Entry<String, Object> condition : filter.entrySet()) {
            String field = condition.getKey();
            Object value = condition.getValue();
            if (field.equals("$and") && value instanceof Collection) {
                for (Object clause : (Collection<?>) value) {
                    if (clause instanceof Document) {
                        collectFieldConditions((Document) clause, conditions);
                    }
                }
            } else if (!field.startsWith("$")) {
                conditions.computeIfAbsent(field, name -> new ArrayList<>()).add(value);
            }
        }
    }

    /** The values a field condition pins the field to, sorted and distinct; null if it does not. */
    private static List<Object> pinnedValues(Object condition) {
        if (!(condition instanceof Document) || BsonRegularExpression.isRegularExpression(condition)) {
            return isKeyEquality(condition) ? List.of(condition) : null;
        }
        Document operators = (Document) condition;
        if (!isOperatorDocument(operators)) {
            return null;  // an embedded document, matched as a whole
        }
        if (operators.containsKey("$eq")) {
            Object value = operators.get("$eq");
            return isKeyEquality(value) ? List.of(value) : null;
        }
        Object in = operators.get("$in");
        if (in instanceof Collection) {
            Collection<Object> sorted = new TreeSet<>(ValueComparator.asc());
            for (Object value : (Collection<?>) in) {
                if (!isKeyEquality(value)) {
                    return null;
                }
                sorted.add(value);
            }
            return new ArrayList<>(sorted);
        }
        return null;
    }

    /** MongoDB's equality on this value is the index's key equality (see the class comment). */
    static boolean isKeyEquality(Object value) {
        if (value instanceof String || value instanceof Boolean || value instanceof ObjectId
            || value instanceof Instant || value instanceof Integer || value instanceof Double) {
            return true;
        }
        if (value instanceof Long) {
            long number = (Long) value;
            return number == (long) (double) number;  // else the index keeps the Long, the matcher compares exactly
        }
        return false;
    }
}
