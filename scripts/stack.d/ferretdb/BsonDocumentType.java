import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.nio.ByteBuffer;

import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * How the stack stores a collection's documents in the MVStore: as BSON, with the library's own
 * encoder and decoder, in place of H2's default (ObjectDataType), which writes every document
 * with Java serialisation. MVStore rewrites a whole B-tree page, every document on it, each time
 * one of them changes; profiled while loading sessions, that Java serialisation kept the store's
 * serialisation thread busy for 45% of the server's CPU samples.
 *
 * <p>A document that BSON cannot carry exactly (a value of a class the encoder does not know, or
 * more than BSON's 16 MiB) is written with Java serialisation instead, behind its own tag, so
 * nothing the library holds in memory is ever refused or changed by storing it.
 */
final class BsonDocumentType extends BasicDataType<Document> {

    /** Written first in each stored document: how the rest is encoded. */
    private static final byte BSON = 1;
    private static final byte JAVA_SERIALIZED = 2;
    /**
     * A document's heap footprint per byte of its BSON (maps, boxed numbers and strings): about 3.5
     * for the loaders' session timelines. MVStore sizes its cache and its unsaved changes by
     * getMemory, so taking the BSON size alone let them hold several times their budget: the
     * heap ran out while a store wrote 80 MB of sessions at once.
     */
    static final int HEAP_BYTES_PER_BSON_BYTE = 4;
    /** A running average of the stored size, as H2's own type keeps (an estimate per document is too dear). */
    private volatile int averageSize = 1000;

    @Override
    public int getMemory(Document document) {
        return averageSize * HEAP_BYTES_PER_BSON_BYTE;
    }

    @Override
    public void write(WriteBuffer buffer, Document document) {
        byte[] bytes = bson(document);
        byte tag = BSON;
        if (bytes == null) {
            bytes = SortedUniqueIndex.serialized(document);
            tag = JAVA_SERIALIZED;
        }
        buffer.put(tag).putVarInt(bytes.length).put(bytes);
        averageSize = (averageSize * 15 + bytes.length + 64) / 16;
    }

    @Override
    public Document read(ByteBuffer buffer) {
        byte tag = buffer.get();
        byte[] bytes = new byte[DataUtils.readVarInt(buffer)];
        buffer.get(bytes);
        if (tag == BSON) {
            return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bytes));
        }
        if (tag == JAVA_SERIALIZED) {
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
                return (Document) in.readObject();
            } catch (IOException | ClassNotFoundException e) {
                throw new IllegalStateException("a stored document cannot be read back", e);
            }
        }
        throw new IllegalStateException("a stored document has the unknown tag " + tag
            + ": the data file was not written by this server");
    }

    @Override
    public Document[] createStorage(int size) {
        return new Document[size];
    }

    /** The document's BSON, or null when BSON cannot carry it exactly. */
    private static byte[] bson(Document document) {
        ByteBuf out = Unpooled.buffer(256);
        try {
            BsonEncoder.encodeDocument(document, out);
        } catch (IllegalArgumentException | ClassCastException unencodable) {
            return null;
        }
        if (out.readableBytes() > BsonConstants.MAX_BSON_OBJECT_SIZE) {
            return null;  // the decoder refuses what a client could not have sent
        }
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }
}
