/* liberr.c: library error numbers in Chinese (liberr.h). */
#include "liberr.h"

#include <hpdf_error.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ERRORS_H

#include <libxml/xmlerror.h>

const char *ipf_hpdf_error_text(unsigned long code)
{
    switch (code) {
    case HPDF_FAILD_TO_ALLOC_MEM:
        return "内存不足；请关闭其他程序后重试";
    case HPDF_ARRAY_COUNT_ERR:
        return "PDF 中一组条目超过了 32767 个的上限（通常是页数过多）；请减少内容，"
               "或把数据分成几份分别生成";
    case HPDF_DICT_COUNT_ERR:
        return "PDF 中一个字典的条目超过了 4095 个的上限；请减少内容，或把数据分成几份分别生成";
    case HPDF_XREF_COUNT_ERR:
        return "PDF 对象超过了 8388607 个的上限；请把数据分成几份分别生成";
    case HPDF_STRING_OUT_OF_RANGE:
    case HPDF_BINARY_LENGTH_ERR:
    case HPDF_NAME_OUT_OF_RANGE:
        return "一段文字超过了 PDF 生成库 65535 字节的上限；请缩短该文字";
    case HPDF_REAL_OUT_OF_RANGE:
    case HPDF_PAGE_INVALID_SIZE:
        return "页面尺寸或坐标超出了 PDF 允许的范围（±32767 磅）；请检查模板的页面尺寸、边距和列宽";
    case HPDF_PAGE_INVALID_FONT_SIZE:
        return "字号超出了 PDF 生成库允许的范围（大于 0、不超过 300 磅）；请检查模板的字号";
    case HPDF_EXCEED_GSTATE_LIMIT:
        return "图形状态嵌套超过了 28 层的上限；这是 ipforms 的问题，请报告维护人员";
    case HPDF_FILE_IO_ERROR:
    case HPDF_FILE_OPEN_ERROR:
        return "读写文件失败；请检查磁盘空间和目录权限";
    case HPDF_ZLIB_ERROR:
        return "压缩 PDF 数据失败（通常是内存不足）；请关闭其他程序后重试";
    case HPDF_TTF_CANNOT_EMBEDDING_FONT:
        return "字体的授权不允许嵌入 PDF；请换用允许嵌入的 TrueType 字体（--font）";
    case HPDF_TTF_INVALID_CMAP:
    case HPDF_TTF_INVALID_FOMAT:
    case HPDF_TTF_MISSING_TABLE:
    case HPDF_INVALID_FONTDEF_DATA:
    case HPDF_INVALID_FONTDEF_TYPE:
    case HPDF_INVALID_FONT_NAME:
    case HPDF_UNSUPPORTED_FONT_TYPE:
    case HPDF_FONT_INVALID_WIDTHS_TABLE:
    case HPDF_INVALID_FONT:
    case HPDF_PAGE_INVALID_FONT:
    case HPDF_PAGE_FONT_NOT_FOUND:
        return "PDF 生成库无法使用所配置的字体；请换用完整的、允许嵌入的 TrueType 字体（.ttf）";
    case HPDF_INVALID_DATE_TIME:
        return "PDF 的创建日期无效；请检查 SOURCE_DATE_EPOCH 环境变量";
    default:
        return "PDF 生成库内部错误；这是 ipforms 的问题，请把数据文件和这条信息报告维护人员";
    }
}

const char *ipf_ft_error_text(int err)
{
    switch (err) {
    case FT_Err_Cannot_Open_Resource:
        return "无法打开字体文件；请检查文件是否存在、是否有读取权限";
    case FT_Err_Unknown_File_Format:
        return "不是可识别的字体文件（格式未知）；请确认这是 TrueType 字体（.ttf）";
    case FT_Err_Out_Of_Memory:
        return "读取字体时内存不足；请关闭其他程序后重试";
    case FT_Err_Invalid_Stream_Read:
    case FT_Err_Invalid_Stream_Seek:
    case FT_Err_Invalid_Stream_Skip:
    case FT_Err_Invalid_Frame_Read:
    case FT_Err_Invalid_Frame_Operation:
    case FT_Err_Invalid_Offset:
        return "字体文件不完整（可能在复制或下载时被截断）；请重新复制一份完整的字体文件";
    case FT_Err_Invalid_File_Format:
    case FT_Err_Invalid_Table:
    case FT_Err_Array_Too_Large:
    case FT_Err_Table_Missing:
    case FT_Err_Locations_Missing:
    case FT_Err_Name_Table_Missing:
    case FT_Err_CMap_Table_Missing:
    case FT_Err_Hmtx_Table_Missing:
    case FT_Err_Horiz_Header_Missing:
    case FT_Err_Post_Table_Missing:
        return "字体文件已损坏或不完整（缺少必需的表）；请重新复制一份完整的字体文件，或换用其他字"
               "体";
    default:
        return "字体文件无法读取；请重新复制一份完整的字体文件，或换用其他字体";
    }
}

const char *ipf_xml_error_code_text(int code)
{
    switch (code) {
    case XML_ERR_NO_MEMORY:
        return "内存不足；请关闭其他程序后重试";
    default:
        break;
    }
    if (code < 0)
        return "XML 处理库内部错误；这是 ipforms 的问题，请把数据文件和这条信息报告维护人员";
    return "XML 处理库报告了未预料的错误；这是 ipforms 的问题，请把数据文件和这条信息报告维护人员";
}
