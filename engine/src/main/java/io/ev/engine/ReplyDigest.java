/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.engine;

import io.ev.pipeline.Batch;
import net.openhft.hashing.LongHashFunction;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Digest of a batch's replies in batch order: {@code d = (d + xxh3(reply_i)) * K} over i, so it
 * depends on every reply's bytes and on their order. Part of a batch's token (root + reply digest)
 * in commit markers and, with replication, in the token exchanged with the backup.
 */
public final class ReplyDigest
{
    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final long K = 0x9E3779B97F4A7C15L;

    private ReplyDigest()
    {
    }

    /**
     * @param view scratch flyweight, re-pointed at each reply.
     */
    public static long of(final Batch batch, final UnsafeBuffer view)
    {
        long digest = batch.count();
        for (int i = 0, count = batch.count(); i < count; i++)
        {
            batch.wrapReply(view, i);
            digest = (digest + XX3.hashMemory(view.addressOffset(), batch.replyLength(i))) * K;
        }
        return digest;
    }
}
